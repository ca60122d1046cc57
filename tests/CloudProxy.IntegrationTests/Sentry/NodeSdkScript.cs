using System.Diagnostics;
using CloudProxy.IntegrationTests.StatsD;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>Runs one of tests/node's scripts that drive the real @sentry/node SDK, and returns what it printed.</summary>
internal static class NodeSdkScript
{
    public static async Task<string> RunAsync(string script, params string[] arguments)
    {
        var root = StatsDDaemonFixture.RepositoryRoot();
        var sdk = Path.Combine(root, "tests", "node", "node_modules", "@sentry", "node", "package.json");
        Assert.True(File.Exists(sdk), $"@sentry/node is not installed ({sdk} missing): run `{StatsDDaemonFixture.InstallCommand}` in the repository root");

        var start = new ProcessStartInfo("node", [Path.Combine(root, "tests", "node", script), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start: apt-get install -y nodejs npm");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = node.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = node.StandardError.ReadToEndAsync(timeout.Token);
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node {script} exited {node.ExitCode}: {await errors}");
        return await output;
    }
}

using System.Diagnostics;
using CloudProxy.IntegrationTests.StatsD;
using CloudProxy.Tests.Common;
using Sentry;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>Real Sentry SDKs, pointed at the ingress by DSN, capture an exception; both upstreams get it.</summary>
public sealed class SentrySdkTests
{
    [Fact]
    public async Task The_dotnet_SDK_captures_an_exception_through_the_proxy_to_both_upstreams()
    {
        await using var rig = await SentryRig.StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        using var client = new SentryClient(new SentryOptions
        {
            Dsn = rig.Dsn,
            AutoSessionTracking = false,
            SendClientReports = false,
            IsGlobalModeEnabled = false,
        });

        SentryId id;
        try
        {
            throw new InvalidOperationException("dotnet boom " + marker);
        }
        catch (InvalidOperationException ex)
        {
            id = client.CaptureException(ex);
        }

        await client.FlushAsync(TimeSpan.FromSeconds(10));

        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 1 && rig.B.CountContaining(marker) == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single(r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            Assert.Contains($"sentry_key={key}", got.Header("X-Sentry-Auth"), StringComparison.Ordinal);
            Assert.Contains(id.ToString(), got.BodyText.Split('\n')[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_node_SDK_captures_an_exception_through_the_proxy_to_both_upstreams()
    {
        var root = StatsDDaemonFixture.RepositoryRoot();
        var script = Path.Combine(root, "tests", "node", "sentry-capture.js");
        var sdk = Path.Combine(root, "tests", "node", "node_modules", "@sentry", "node", "package.json");
        Assert.True(File.Exists(sdk), $"@sentry/node is not installed ({sdk} missing): run `{StatsDDaemonFixture.InstallCommand}` in the repository root");
        await using var rig = await SentryRig.StartAsync();
        var marker = Guid.NewGuid().ToString("N");

        var start = new ProcessStartInfo("node", [script, rig.Dsn, marker])
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

        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {await errors}");
        var id = (await output).Trim();
        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 1 && rig.B.CountContaining(marker) == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single(r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            // @sentry/node authenticates with ?sentry_key= and also names the DSN in the envelope header.
            Assert.Contains($"sentry_key={key}", got.Query + got.Header("X-Sentry-Auth"), StringComparison.Ordinal);
            Assert.Contains(id, got.BodyText.Split('\n')[0], StringComparison.Ordinal);
        }
    }
}

using System.Diagnostics;
using System.Text;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>
/// The podman command line as this machine needs it: runc (crun does not run here), cgroupfs (no systemd), and
/// for every container host networking and low ulimits (higher ones are refused). The image build uses the
/// same flags in tools/container/build-image.sh.
/// </summary>
internal static class Podman
{
    public const string InstallHint =
        "podman is not installed; install it with: apt-get install -y --no-install-recommends podman runc mmdebstrap (./test.sh does)";

    /// <summary>Global flags, before the subcommand.</summary>
    public static readonly string[] GlobalFlags = ["--runtime", "runc", "--cgroup-manager=cgroupfs"];

    /// <summary>Flags of every <c>podman run</c>: the container shares the host's loopback, so its listeners and the
    /// test's sinks meet on 127.0.0.1 ports chosen free by the test.</summary>
    public static readonly string[] RunFlags = ["--network=host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

    private static readonly Lazy<string?> CannotRun = new(ProbeContainerSupport);

    /// <summary>
    /// Null when this machine can run containers; otherwise why not (the container tests are then skipped). A
    /// container is a set of namespaces: a machine where root cannot create mount, PID, UTS and IPC namespaces
    /// (or a non-root user a user namespace, for rootless podman) cannot run one whatever is installed. Anything
    /// else that goes wrong (podman missing, a broken image, a failing run) is a test failure, not a skip.
    /// </summary>
    public static string? CannotRunContainersReason => CannotRun.Value;

    public static async Task<ProcessResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("podman")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in GlobalFlags.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        return await ProcessResult.RunAsync(start, timeout ?? TimeSpan.FromMinutes(2), InstallHint);
    }

    /// <summary>Runs podman and fails the test with its output when it exits non-zero; returns stdout, trimmed.</summary>
    public static async Task<string> CheckedAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"podman {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        return result.Stdout.Trim();
    }

    private static string? ProbeContainerSupport()
    {
        string[] namespaces = Environment.IsPrivilegedProcess
            ? ["--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child", "true"]
            : ["--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child", "true"];
        var start = new ProcessStartInfo("unshare") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in namespaces)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            var result = ProcessResult.RunAsync(start, TimeSpan.FromSeconds(30), "unshare (util-linux) is missing").GetAwaiter().GetResult();
            return result.ExitCode == 0
                ? null
                : $"this machine cannot run containers: `unshare {string.Join(' ', namespaces)}` failed ({result.ExitCode}): {result.Stderr.Trim()}";
        }
        catch (InvalidOperationException e)
        {
            return $"this machine cannot run containers: {e.Message}";
        }
    }
}

/// <summary>The exit code and output of a finished process.</summary>
internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo start, TimeSpan timeout, string missingHint)
    {
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(missingHint);
        }

        using (process)
        {
            if (start.RedirectStandardInput)
            {
                process.StandardInput.Close();
            }

            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}");
            }

            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
    }

    public override string ToString() => new StringBuilder().Append("exit ").Append(ExitCode).Append(": ").Append(Stderr).Append(Stdout).ToString();
}

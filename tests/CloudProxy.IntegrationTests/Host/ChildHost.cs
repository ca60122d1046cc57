using System.Diagnostics;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// The real executable started the way a user starts it: <c>dotnet path/to/cloudproxy.dll …</c> as its own process,
/// from an empty temporary working directory (so no appsettings.json is found there), with stdout and stderr
/// captured line by line. It is stopped with SIGTERM (a graceful shutdown, so every log line is flushed) and,
/// if it does not exit, killed by its own process id.
/// The binary is the Host project's own build output (same configuration as this test assembly), or
/// <c>CLOUDPROXY_HOST_DLL</c> when set (to measure another build, e.g. main's, with the same test).
/// To merge with issue 12's <c>HostProcess</c> in Tests.Common.
/// </summary>
public sealed class ChildHost : IAsyncDisposable
{
    private static readonly string[] ClearedVariables = ["ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _ownedDirectory;

    private ChildHost(Process process, string workingDirectory, string? ownedDirectory)
    {
        _process = process;
        WorkingDirectory = workingDirectory;
        _ownedDirectory = ownedDirectory;
    }

    /// <summary>The cloudproxy.dll this fixture runs.</summary>
    public static string Dll { get; } = FindDll();

    public string WorkingDirectory { get; }

    /// <summary>Every stdout line so far (the console logger writes two or more per entry, as an operator's disk sees them).</summary>
    public IReadOnlyList<string> Stdout
    {
        get
        {
            lock (_stdout)
            {
                return [.. _stdout];
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return string.Join('\n', _stderr);
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The build configuration of this test assembly (and so of the host it runs).</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>
    /// Starts <c>dotnet cloudproxy.dll <paramref name="args"/></c> (or <c>dotnet <paramref name="launcher"/> args</c>, e.g.
    /// <c>run --project …  --</c>) in <paramref name="workingDirectory"/> (default: a fresh temporary directory, deleted on dispose).
    /// </summary>
    public static ChildHost Start(
        IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? launcher = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var owned = workingDirectory is null ? Directory.CreateTempSubdirectory("cloudproxy-child-").FullName : null;
        var cwd = workingDirectory ?? owned!;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = cwd,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in launcher ?? [Dll])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in ClearedVariables)
        {
            info.Environment.Remove(name);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("CloudProxy__", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("POLYMUR_GW_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var host = new ChildHost(process, cwd, owned);
        process.OutputDataReceived += (_, e) => host.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnStderr(e.Data);
        process.Exited += (_, _) => host._listening.TrySetException(new InvalidOperationException("cloudproxy exited before it listened"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>The main listener's address, from the host's own "Now listening on:" line.</summary>
    public async Task<Uri> WaitUntilListeningAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await _listening.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            throw new InvalidOperationException($"cloudproxy did not start listening ({ex.Message}).\nstdout:\n{string.Join('\n', Stdout)}\nstderr:\n{Stderr}", ex);
        }
    }

    /// <summary>Waits for the process to end by itself (a start-up failure); false when it is still running at the deadline.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        // The parameterless wait returns once the redirected streams are read to the end.
        _process.WaitForExit();
        return true;
    }

    /// <summary>SIGTERM, as systemd or Kubernetes stop it; waits for the exit and the last output line.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            if (!await WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60)))
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(30));
                throw new InvalidOperationException("cloudproxy did not stop within the deadline after SIGTERM; killed");
            }
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
        if (_ownedDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdout)
        {
            _stdout.Add(line);
        }

        const string marker = "Now listening on: ";
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0 && Uri.TryCreate(line[(at + marker.Length)..].Trim(), UriKind.Absolute, out var address))
        {
            _listening.TrySetResult(address);
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.Add(line);
        }
    }

    private static string FindDll()
    {
        if (Environment.GetEnvironmentVariable("CLOUDPROXY_HOST_DLL") is { Length: > 0 } given)
        {
            return Path.GetFullPath(given);
        }

        // tests/CloudProxy.IntegrationTests/bin/<Configuration>/<tfm>/ → src/CloudProxy.Host/bin/<Configuration>/<tfm>/cloudproxy.dll
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Path.Combine(RepositoryRoot(), "src", "CloudProxy.Host", "bin", configuration, tfm, "cloudproxy.dll");
        return File.Exists(dll)
            ? dll
            : throw new FileNotFoundException($"the host is not built: run `dotnet build src/CloudProxy.Host -c {configuration}`", dll);
    }

    /// <summary>The checkout this test assembly was built from (the folder holding CloudProxy.sln).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CloudProxy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("CloudProxy.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A client for the child's main listener.</summary>
    public static HttpClient ClientFor(Uri address, int connections = 8) =>
        new(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = connections, ActivityHeadersPropagator = null }) { BaseAddress = address };

    /// <summary>The child's own /metrics, summed like <see cref="PrometheusText.Sum"/>.</summary>
    public static async Task<double> MetricAsync(HttpClient client, string name, params (string Label, string Value)[] labels)
    {
        ArgumentNullException.ThrowIfNull(client);
        return PrometheusText.Sum(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)), name, labels);
    }
}

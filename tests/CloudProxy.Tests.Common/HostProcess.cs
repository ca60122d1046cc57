using System.Diagnostics;
using System.Text.RegularExpressions;

namespace CloudProxy.Tests.Common;

/// <summary>How to start a <see cref="HostProcess"/>.</summary>
public sealed class HostProcessOptions
{
    /// <summary>Arguments after the dll; <c>--urls http://127.0.0.1:0</c> and a spool path in the working directory come first unless given.</summary>
    public IList<string> Args { get; } = [];

    /// <summary>Variables set (or, with a null value, removed) in the child's environment, e.g. <c>DOTNET_GCHeapHardLimit</c>.</summary>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>The child's working directory; null makes a temporary one, deleted on dispose.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>The host dll; null is the <c>cloudproxy.dll</c> built beside the test assembly.</summary>
    public string? HostDll { get; set; }

    /// <summary>How long to wait for the listener and <c>/healthz</c>.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>False skips the wait for <c>/healthz</c> (e.g. a start that is meant to fail).</summary>
    public bool WaitForHealthy { get; set; } = true;
}

/// <summary>
/// The real host as a separate process (<c>dotnet cloudproxy.dll …</c>), for what an in-process host cannot
/// show: a heap limit (<c>DOTNET_GCHeapHardLimit</c>), a crash, a kill -9 and a restart. stdout and stderr go
/// to one file (<see cref="OutputPath"/>), which is also how the listening addresses are found: Kestrel logs
/// "Now listening on: …", so every listener can bind port 0. Stopped by its own process id, whole tree.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _ownedDirectory;
    private readonly StreamWriter _output;
    private readonly Lock _outputLock = new();
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    private HostProcess(Process process, string workingDirectory, string? ownedDirectory, string outputPath)
    {
        _process = process;
        WorkingDirectory = workingDirectory;
        _ownedDirectory = ownedDirectory;
        OutputPath = outputPath;
        _output = new StreamWriter(outputPath, append: true) { AutoFlush = true };
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false, ActivityHeadersPropagator = null }) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Id => _process.Id;

    public string WorkingDirectory { get; }

    /// <summary>stdout and stderr of the child, line by line as they came.</summary>
    public string OutputPath { get; }

    /// <summary>The first address Kestrel reported for the main listener.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client without cookies or trace headers of the test process; relative URIs go to <see cref="BaseAddress"/>.</summary>
    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public IReadOnlyList<string> OutputLines
    {
        get
        {
            lock (_outputLock)
            {
                return [.. _lines];
            }
        }
    }

    public static Task<HostProcess> StartAsync(params string[] args)
    {
        var options = new HostProcessOptions();
        foreach (var arg in args)
        {
            options.Args.Add(arg);
        }

        return StartAsync(options);
    }

    public static async Task<HostProcess> StartAsync(HostProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? owned = null;
        var directory = options.WorkingDirectory;
        if (directory is null)
        {
            owned = Directory.CreateTempSubdirectory("cloudproxy-process-").FullName;
            directory = owned;
        }

        var dll = options.HostDll ?? Path.Combine(AppContext.BaseDirectory, "cloudproxy.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"the host dll is not at {dll} (build src/CloudProxy.Host)", dll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        var given = options.Args;
        if (!given.Contains("--urls"))
        {
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add("http://127.0.0.1:0");
        }

        if (!given.Contains("--spool-path"))
        {
            start.ArgumentList.Add("--spool-path");
            start.ArgumentList.Add(Path.Combine(directory, "spool"));
        }

        // The addresses are read from Kestrel's start-up lines, whatever level the test asks for otherwise.
        start.ArgumentList.Add("--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");
        start.ArgumentList.Add("--Logging:Console:FormatterName=simple");
        start.ArgumentList.Add("--Logging:Console:FormatterOptions:SingleLine=true");
        foreach (var arg in given)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new HostProcess(process, directory, owned, Path.Combine(directory, "host-output.log"));
        process.OutputDataReceived += (_, e) => host.Record(e.Data);
        process.ErrorDataReceived += (_, e) => host.Record(e.Data);
        process.Exited += (_, _) => host._exited.TrySetResult();
        if (!process.Start())
        {
            throw new InvalidOperationException("dotnet did not start");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (options.WaitForHealthy)
        {
            try
            {
                await host.WaitUntilHealthyAsync(options.StartTimeout);
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }

        return host;
    }

    /// <summary>The first output line matching <paramref name="pattern"/>, waiting for it; null when the process ends or the time is up first.</summary>
    public async Task<Match?> WaitForOutputAsync(Regex pattern, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        Match? found = null;
        await Eventually.TrueAsync(() =>
        {
            foreach (var line in OutputLines)
            {
                var match = pattern.Match(line);
                if (match.Success)
                {
                    found = match;
                    return true;
                }
            }

            return _process.HasExited;
        }, timeout);
        return found;
    }

    /// <summary>Every address Kestrel reported listening on so far (the main listener and side listeners alike).</summary>
    public IReadOnlyList<Uri> ListeningAddresses() =>
        [.. OutputLines.Select(l => ListeningLine().Match(l)).Where(m => m.Success).Select(m => new Uri(m.Groups["url"].Value))];

    /// <summary>The process's resident set (VmRSS), read from /proc; 0 once it has exited.</summary>
    public long ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    public async Task<string> ScrapeMetricsAsync() => await Client.GetStringAsync(new Uri(BaseAddress, "/metrics"));

    public async Task<double> MetricAsync(string name, params (string Label, string Value)[] labels) =>
        PrometheusText.Sum(await ScrapeMetricsAsync(), name, labels);

    /// <summary>True when <c>/healthz</c> answers 200 now.</summary>
    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var response = await Client.GetAsync(new Uri(BaseAddress, "/healthz"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL to the process and its children (kill -9): no shutdown hooks run.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Asks the host to stop as a container runtime would (SIGTERM), then waits for it.</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } }))
        {
            await kill!.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout);
            await _process.WaitForExitAsync();
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        Client.Dispose();
        lock (_outputLock)
        {
            _closed = true;
            _output.Dispose();
        }

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

    /// <summary>The last lines of output, for an assertion message.</summary>
    public string Tail(int lines = 40) => string.Join('\n', OutputLines.TakeLast(lines));

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var listening = await WaitForOutputAsync(ListeningLine(), timeout);
        if (listening is null)
        {
            throw new InvalidOperationException($"the host did not report a listener within {timeout} (exit code {ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}):\n{Tail()}");
        }

        BaseAddress = new Uri(listening.Groups["url"].Value);
        var left = timeout - deadline.Elapsed;
        if (!await Eventually.TrueAsync(IsHealthyAsync, left > TimeSpan.FromSeconds(5) ? left : TimeSpan.FromSeconds(5)))
        {
            throw new InvalidOperationException($"the host at {BaseAddress} did not answer /healthz:\n{Tail()}");
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            // Output events can still arrive while the process is being disposed.
            if (!_closed)
            {
                _lines.Add(line);
                _output.WriteLine(line);
            }
        }
    }

    [GeneratedRegex(@"Now listening on: (?<url>https?://\S+)")]
    private static partial Regex ListeningLine();
}

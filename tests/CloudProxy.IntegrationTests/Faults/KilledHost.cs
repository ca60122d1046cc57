using System.Collections.Concurrent;
using CloudProxy.Core.Metrics;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Faults;

/// <summary>
/// The real host as its own process, killed with SIGKILL (no shutdown hook runs) and started again on the same
/// data directory, as a crashing pod is. Keeps what each process reported about itself at start-up (the
/// envelopes it found in flight, i.e. possible duplicates), since a killed process can no longer be scraped.
/// </summary>
public sealed class KilledHost : IAsyncDisposable
{
    private readonly string[] _args;
    private readonly string[] _duplicateCounters;
    private readonly string _directory;
    private readonly int? _port;
    private volatile HostProcess _current;
    private double _countedByTheDead;

    private KilledHost(string[] args, string[] duplicateCounters, string directory, int? port, HostProcess first)
    {
        _args = args;
        _duplicateCounters = duplicateCounters;
        _directory = directory;
        _port = port;
        _current = first;
    }

    public HostProcess Current => _current;

    public string DataDirectory => _directory;

    public int Restarts { get; private set; }

    /// <summary>
    /// Starts the first process; <paramref name="port"/> fixes the main port (a sidecar delivers to it), else port
    /// 0. <paramref name="duplicateCounters"/> are the module's counters of possible duplicates, added to Core's.
    /// </summary>
    public static async Task<KilledHost> StartAsync(int? port, string[] duplicateCounters, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(duplicateCounters);
        var directory = Directory.CreateTempSubdirectory("cloudproxy-fault-").FullName;
        var first = await StartProcessAsync(directory, port, args);
        return new KilledHost(args, duplicateCounters, directory, port, first);
    }

    /// <summary>kill -9, then a new process on the same data directory, ready when it returns.</summary>
    public async Task KillAndRestartAsync()
    {
        // What this process counted is lost with it: read just before the kill (anything counted in between is
        // missed, which only makes the final check stricter).
        _countedByTheDead += await DuplicatesOfAsync(_current);
        await _current.KillAsync();
        await _current.DisposeAsync();
        _current = await StartProcessAsync(_directory, _port, _args);
        Restarts++;
    }

    /// <summary>
    /// Kills and restarts <paramref name="kills"/> times at random moments 0.3–1.5 s apart (the seed is in the
    /// failure message of the test that uses it).
    /// </summary>
    public async Task KillRepeatedlyAsync(int kills, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (var i = 0; i < kills; i++)
        {
            await Task.Delay(random.Next(300, 1500));
            await KillAndRestartAsync();
        }
    }

    /// <summary>Every possible duplicate the processes counted: Core's (a crash replay is counted by the next process at start-up) and the module's.</summary>
    public async Task<double> DuplicatesCountedAsync() => _countedByTheDead + await DuplicatesOfAsync(_current);

    public async ValueTask DisposeAsync()
    {
        await _current.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<double> DuplicatesOfAsync(HostProcess process)
    {
        try
        {
            var text = await process.ScrapeMetricsAsync();
            return PrometheusText.Sum(text, CoreMetricNames.Duplicates) + _duplicateCounters.Sum(name => PrometheusText.Sum(text, name));
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static Task<HostProcess> StartProcessAsync(string directory, int? port, string[] args)
    {
        // CLOUDPROXY_HOST_DLL runs the suite against another build (how it was shown to fail on the old pipeline).
        var options = new HostProcessOptions { WorkingDirectory = directory, HostDll = Environment.GetEnvironmentVariable("CLOUDPROXY_HOST_DLL") };
        if (port is { } fixedPort)
        {
            options.Args.Add("--urls");
            options.Args.Add($"http://127.0.0.1:{fixedPort}");
        }

        options.Args.Add("--data-dir");
        options.Args.Add(Path.Combine(directory, "data"));
        options.Args.Add("--spool-path");
        options.Args.Add(Path.Combine(directory, "data", "spool"));
        foreach (var arg in args)
        {
            options.Args.Add(arg);
        }

        return HostProcess.StartAsync(options);
    }
}

/// <summary>Bounded load against whichever process of a <see cref="KilledHost"/> is alive; remembers what was acknowledged.</summary>
public static class FaultLoad
{
    /// <summary>
    /// Sends <paramref name="count"/> requests, <paramref name="concurrency"/> at a time, each to the process alive
    /// at that moment. A request counts as accepted only when it was answered 2xx; one that met a killed process
    /// (no answer) is not (it may still arrive: at-least-once).
    /// </summary>
    public static async Task<IReadOnlyCollection<string>> DriveAsync(
        KilledHost host, int count, int concurrency, Func<HostProcess, int, Task<string?>> send, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(send);
        var accepted = new ConcurrentBag<string>();
        var next = -1;
        var deadline = Environment.TickCount64 + (long)(limit ?? TimeSpan.FromSeconds(90)).TotalMilliseconds;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && Environment.TickCount64 < deadline)
            {
                try
                {
                    if (await send(host.Current, i) is { } id)
                    {
                        accepted.Add(id);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ObjectDisposedException or IOException)
                {
                    // The process was killed under this request: no answer, not accepted.
                    await Task.Delay(20);
                }
            }
        }));
        await Task.WhenAll(workers);
        return accepted;
    }

    /// <summary>
    /// Each accepted id's count at the sink: the missing ones, and the extra copies, counted per envelope when
    /// <paramref name="envelopeOf"/> says which envelope an id came in (a replayed envelope repeats all its lines,
    /// and Core counts envelopes).
    /// </summary>
    public static (List<string> Missing, int Extra) Compare(IReadOnlyCollection<string> accepted, IEnumerable<string> received, Func<string, string>? envelopeOf = null)
    {
        var counts = received.GroupBy(r => r, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var missing = accepted.Where(a => !counts.ContainsKey(a)).ToList();
        var extra = envelopeOf is null
            ? counts.Values.Sum(c => c - 1)
            : counts.GroupBy(c => envelopeOf(c.Key), StringComparer.Ordinal).Sum(g => g.Max(c => c.Value) - 1);
        return (missing, extra);
    }
}

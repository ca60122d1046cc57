using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>
/// The real carbon-cache from Debian's graphite-carbon on 127.0.0.1: its own temporary config and storage
/// folders, free ports for the line, pickle and cache-query receivers, UDP off, 1-second retention so every
/// timestamp is its own whisper slot. Points are read back from the whisper files with python3-whisper.
/// Stopped by its own process id.
/// </summary>
public sealed class CarbonCacheServer : IAsyncDisposable
{
    public const string Python = "/usr/bin/python3";
    public const string CarbonCache = "/usr/bin/carbon-cache";
    public const string InstallCommand = "apt-get install -y graphite-carbon python3-whisper";

    private readonly CarbonDaemon _daemon;

    private CarbonCacheServer(CarbonDaemon daemon, int port)
    {
        _daemon = daemon;
        Port = port;
    }

    public int Port { get; }

    public string WhisperDirectory => Path.Combine(_daemon.Directory, "storage", "whisper");

    /// <summary>
    /// Starts carbon-cache on <paramref name="port"/> (a free one when null). Every <paramref name="metricIntervalSeconds"/>
    /// (carbon's default 60; 0 turns it off) carbon records its own counters, such as
    /// carbon.agents.HOST.metricsReceived (points received in the interval), into its own whisper files
    /// (see <see cref="ReceivedPerIntervalAsync"/>).
    /// </summary>
    public static async Task<CarbonCacheServer> StartAsync(int? port = null, int metricIntervalSeconds = 60)
    {
        if (!File.Exists(CarbonCache) || !File.Exists(Python))
        {
            throw new InvalidOperationException($"carbon-cache is not installed ({CarbonCache}): {InstallCommand}");
        }

        var directory = Directory.CreateTempSubdirectory("cloudproxy-carbon-").FullName;
        var linePort = port ?? Loopback.FreeTcpPort();
        var storage = Path.Combine(directory, "storage");
        await File.WriteAllTextAsync(Path.Combine(directory, "carbon.conf"), string.Create(CultureInfo.InvariantCulture, $"""
            [cache]
            STORAGE_DIR = {storage}
            LOCAL_DATA_DIR = {storage}/whisper
            WHISPER_DIR = {storage}/whisper
            LOG_DIR = {directory}/log
            PID_DIR = {directory}
            ENABLE_LOGROTATION = False
            USER =
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = 100000
            MAX_CREATES_PER_MINUTE = inf
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {linePort}
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {Loopback.FreeTcpPort()}
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = {Loopback.FreeTcpPort()}
            LOG_LISTENER_CONN_SUCCESS = False
            LOG_UPDATES = False
            LOG_CREATES = False
            CARBON_METRIC_INTERVAL = {metricIntervalSeconds}
            """));
        await File.WriteAllTextAsync(Path.Combine(directory, "storage-schemas.conf"), "[all]\npattern = .*\nretentions = 1s:6h\n");

        var daemon = await CarbonDaemon.StartAsync("carbon-cache", directory, linePort, CarbonCache, $"--config={Path.Combine(directory, "carbon.conf")}", "--nodaemon", "start");
        return new CarbonCacheServer(daemon, linePort);
    }

    public string Output => _daemon.Output;

    /// <summary>Every stored (timestamp, value) of <paramref name="metric"/> in the last six hours, read by python3-whisper.</summary>
    public async Task<IReadOnlyList<(long Timestamp, double Value)>> ReadAsync(string metric)
    {
        var file = Path.Combine([WhisperDirectory, .. metric.Split('.')]) + ".wsp";
        if (!File.Exists(file))
        {
            return [];
        }

        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import sys, time, whisper\n"
            + "(s, e, step), values = whisper.fetch(sys.argv[1], int(time.time()) - 21000, int(time.time()) + 1)\n"
            + "for i, v in enumerate(values):\n"
            + "    if v is not None: print(s + i * step, repr(v))\n");
        start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"reading {file} with python3-whisper failed ({InstallCommand}?): {error}");
        }

        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var parts = line.Split(' ');
            return (long.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        })];
    }

    /// <summary>
    /// carbon's own count of the points its receivers took in each CARBON_METRIC_INTERVAL (carbon/instrumentation.py,
    /// recordMetrics: <c>metricsReceived</c>, stored under carbon.agents.&lt;hostname&gt;), oldest first.
    /// </summary>
    public async Task<IReadOnlyList<(long Timestamp, double Value)>> ReceivedPerIntervalAsync()
    {
        var agents = Path.Combine(WhisperDirectory, "carbon", "agents");
        var host = Directory.Exists(agents) ? Directory.GetDirectories(agents).SingleOrDefault() : null;
        return host is null ? [] : await ReadAsync($"carbon.agents.{Path.GetFileName(host)}.metricsReceived");
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();
}

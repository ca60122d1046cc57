using System.Globalization;
using System.Net.Sockets;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>
/// The real carbon-aggregator from Debian's graphite-carbon on 127.0.0.1: its own temporary config folder and
/// aggregation-rules.conf, free ports for its line and pickle receivers, UDP off, and its output sent with
/// carbon's line protocol (DESTINATION_PROTOCOL = line) to <paramref name="destinationPort"/>. FORWARD_ALL is
/// off so only the aggregates arrive. Stopped by its own process id.
/// </summary>
public sealed class CarbonAggregatorServer : IAsyncDisposable
{
    public const string CarbonAggregator = "/usr/bin/carbon-aggregator";

    private readonly CarbonDaemon _daemon;

    private CarbonAggregatorServer(CarbonDaemon daemon, int port)
    {
        _daemon = daemon;
        Port = port;
    }

    /// <summary>Its line receiver.</summary>
    public int Port { get; }

    public string Output => _daemon.Output;

    public static async Task<CarbonAggregatorServer> StartAsync(string rules, int destinationPort, int maxIntervals = 5)
    {
        if (!File.Exists(CarbonAggregator) || !File.Exists(CarbonCacheServer.Python))
        {
            throw new InvalidOperationException($"carbon-aggregator is not installed ({CarbonAggregator}): {CarbonCacheServer.InstallCommand}");
        }

        var directory = Directory.CreateTempSubdirectory("cloudproxy-aggregator-").FullName;
        var linePort = Loopback.FreeTcpPort();
        await File.WriteAllTextAsync(Path.Combine(directory, "carbon.conf"), string.Create(CultureInfo.InvariantCulture, $"""
            [cache]
            STORAGE_DIR = {directory}/storage
            LOCAL_DATA_DIR = {directory}/storage/whisper
            LOG_DIR = {directory}/log
            PID_DIR = {directory}
            USER =
            [aggregator]
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {linePort}
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {Loopback.FreeTcpPort()}
            DESTINATIONS = 127.0.0.1:{destinationPort}
            DESTINATION_PROTOCOL = line
            FORWARD_ALL = False
            MAX_AGGREGATION_INTERVALS = {maxIntervals}
            ENABLE_LOGROTATION = False
            LOG_LISTENER_CONN_SUCCESS = False
            CARBON_METRIC_INTERVAL = 0
            """));
        await File.WriteAllTextAsync(Path.Combine(directory, "storage-schemas.conf"), "[all]\npattern = .*\nretentions = 1s:6h\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "rewrite-rules.conf"), string.Empty);
        var rulesFile = Path.Combine(directory, "aggregation-rules.conf");
        await File.WriteAllTextAsync(rulesFile, rules);

        var daemon = await CarbonDaemon.StartAsync("carbon-aggregator", directory, linePort, CarbonAggregator, $"--config={Path.Combine(directory, "carbon.conf")}", $"--rules={rulesFile}", "--nodaemon", "start");
        return new CarbonAggregatorServer(daemon, linePort);
    }

    /// <summary>Writes the lines on one connection and closes it.</summary>
    public async Task SendAsync(string lines)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(lines));
        await stream.FlushAsync();
        client.Client.Shutdown(SocketShutdown.Send);
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();
}

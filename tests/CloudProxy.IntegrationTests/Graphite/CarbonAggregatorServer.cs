using System.Diagnostics;
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

    private readonly StringBuilder _output = new();
    private readonly Process _process;
    private readonly string _directory;

    private CarbonAggregatorServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    /// <summary>Its line receiver.</summary>
    public int Port { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

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

        var start = new ProcessStartInfo(CarbonCacheServer.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[CarbonAggregator, $"--config={Path.Combine(directory, "carbon.conf")}", $"--rules={rulesFile}", "--nodaemon", "start"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var server = new CarbonAggregatorServer(process, directory, linePort);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!await Eventually.TrueAsync(() => Accepts(linePort), TimeSpan.FromSeconds(30)))
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"carbon-aggregator did not listen on {linePort}: {server.Output}");
        }

        return server;
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

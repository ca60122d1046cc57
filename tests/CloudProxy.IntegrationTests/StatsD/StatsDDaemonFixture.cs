using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// A real etsy statsd daemon (the <c>statsd</c> npm package from tests/node) on 127.0.0.1, flushing every
/// 200 ms through its graphite backend to a TCP listener in the test. Fails loudly when node or the package
/// is missing, naming the install command.
/// </summary>
public sealed class StatsDDaemonFixture : IAsyncLifetime
{
    public const string InstallCommand = "npm install --prefix tests/node";

    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _directory;

    public TcpLineSink Graphite { get; } = new();

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        var node = FindOnPath("node")
            ?? throw new InvalidOperationException("node is not installed: apt-get install -y nodejs npm, then " + InstallCommand);
        var statsd = Path.Combine(RepositoryRoot(), "tests", "node", "node_modules", "statsd", "stats.js");
        if (!File.Exists(statsd))
        {
            throw new InvalidOperationException($"the statsd daemon is not installed ({statsd} missing): run `{InstallCommand}` in the repository root");
        }

        Port = FreeUdpPort();
        _directory = Directory.CreateTempSubdirectory("cloudproxy-statsd-daemon-").FullName;
        var config = Path.Combine(_directory, "config.js");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            {
              port: {{Port}},
              address: "127.0.0.1",
              mgmt_address: "127.0.0.1",
              mgmt_port: {{Loopback.FreeTcpPort()}},
              flushInterval: 200,
              deleteIdleStats: true,
              backends: ["./backends/graphite"],
              graphiteHost: "127.0.0.1",
              graphitePort: {{Graphite.Port}},
              graphite: { legacyNamespace: false }
            }
            """));

        var start = new ProcessStartInfo(node, [statsd, config])
        {
            WorkingDirectory = Path.GetDirectoryName(statsd)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!await Eventually.TrueAsync(() => Output.Contains("server is up", StringComparison.Ordinal) || _process.HasExited, TimeSpan.FromSeconds(20))
            || _process.HasExited)
        {
            throw new InvalidOperationException("statsd did not start: " + Output);
        }
    }

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

    /// <summary>What went wrong, for assertion messages: the daemon's output and what it flushed.</summary>
    public string Describe() =>
        Output + "\nflushed: " + string.Join("\n", Graphite.Lines.Where(l => !l.StartsWith("stats.statsd", StringComparison.Ordinal)).TakeLast(40));

    /// <summary>Every flushed graphite value for <paramref name="path"/> (e.g. stats.counters.a.count), oldest first.</summary>
    public List<double> Values(string path) =>
        [.. Graphite.Lines
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 3 && p[0] == path)
            .Select(p => double.Parse(p[1], CultureInfo.InvariantCulture))];

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        await Graphite.DisposeAsync();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "node", "package.json")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (tests/node/package.json) above " + AppContext.BaseDirectory);
    }
}

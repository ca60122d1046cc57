using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// A real redis-server on 127.0.0.1, a free port and a temporary directory, started for a test and killed
/// (by its own process id) when disposed. Fails loudly, with the install command, when it is not installed.
/// <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> take it down and bring it back on the same port with
/// its data (SHUTDOWN SAVE, then the dump is loaded), for "Redis is down" faults.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string InstallHint = "redis-server is not installed; install it with: apt-get install -y redis-server";

    private readonly DirectoryInfo _directory;
    private Process _process;

    private RedisServer(Process process, DirectoryInfo directory, int port, ConnectionMultiplexer connection)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Connection = connection;
    }

    public int Port { get; }

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    /// <summary>False between <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public bool Running { get; private set; } = true;

    public static async Task<RedisServer> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("cloudproxy-redis-");
        Exception? last = null;

        // A free port can be taken between probing and binding; try a few before giving up.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort();
            var process = Launch(directory, port);
            try
            {
                var connection = await ConnectAsync(process, port);
                return new RedisServer(process, directory, port, connection);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
            {
                last = ex;
                Stop(process);
            }
        }

        directory.Delete(recursive: true);
        throw new InvalidOperationException("redis-server did not start on 127.0.0.1 after 5 attempts", last);
    }

    /// <summary>Redis goes down: SHUTDOWN SAVE (the data is kept in its directory), clients get connection refused.</summary>
    public async Task StopAsync()
    {
        try
        {
            await Database.ExecuteAsync("SHUTDOWN", "SAVE");
        }
        catch (RedisException)
        {
            // The connection drops as the server exits, which is the expected answer.
        }

        if (!_process.WaitForExit(10_000))
        {
            throw new TimeoutException("redis-server did not exit after SHUTDOWN SAVE");
        }

        Running = false;
    }

    /// <summary>Redis comes back on the same port with the data it had.</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _process = Launch(_directory, Port);
        using (await ConnectAsync(_process, Port))
        {
        }

        Running = true;
        EnsureReconnected(await Eventually.TrueAsync(async () =>
        {
            try
            {
                await Database.PingAsync();
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        Stop(_process);
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private static void EnsureReconnected(bool reconnected)
    {
        if (!reconnected)
        {
            throw new TimeoutException("the test's Redis connection did not come back after the restart");
        }
    }

    private static Process Launch(DirectoryInfo directory, int port)
    {
        var executable = FindOnPath("redis-server") ?? throw new InvalidOperationException(InstallHint);
        var process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--dir", directory.FullName,
                "--save", string.Empty,
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {executable}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(Process process, int port)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} (port {port} taken?)");
            }

            try
            {
                var options = ConfigurationOptions.Parse($"127.0.0.1:{port}");
                options.AbortOnConnectFail = true;
                options.ConnectTimeout = 1000;
                var connection = await ConnectionMultiplexer.ConnectAsync(options);
                await connection.GetDatabase().PingAsync();
                return connection;
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"redis-server on port {port} did not answer PING within 10 s");
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

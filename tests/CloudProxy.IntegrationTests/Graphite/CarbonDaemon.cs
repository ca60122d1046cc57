using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>
/// One of Debian's carbon programs (carbon-cache, carbon-aggregator) running in the foreground under
/// /usr/bin/python3 with its own temporary folder: started, waited for until its line receiver accepts, its
/// output kept for failure messages, killed with its process tree and its folder deleted at the end.
/// </summary>
internal sealed class CarbonDaemon : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private CarbonDaemon(Process process, string directory)
    {
        _process = process;
        Directory = directory;
    }

    public string Directory { get; }

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

    /// <summary>Runs <c>python3 <paramref name="arguments"/></c>; ready when 127.0.0.1:<paramref name="linePort"/> accepts.</summary>
    public static async Task<CarbonDaemon> StartAsync(string name, string directory, int linePort, params string[] arguments)
    {
        var start = new ProcessStartInfo(CarbonCacheServer.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var daemon = new CarbonDaemon(process, directory);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!await Eventually.TrueAsync(() => Accepts(linePort), TimeSpan.FromSeconds(30)))
        {
            await daemon.DisposeAsync();
            throw new InvalidOperationException($"{name} did not listen on {linePort}: {daemon.Output}");
        }

        return daemon;
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
            System.IO.Directory.Delete(Directory, recursive: true);
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

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CloudProxy.Tests.Common;

/// <summary>A real TCP listener on 127.0.0.1 that keeps every newline-terminated line it receives.</summary>
public sealed class TcpLineSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly ConcurrentBag<Task> _connections = [];

    /// <param name="port">0 for any free port, or a fixed one (e.g. a back end that comes back after an outage).</param>
    /// <param name="receiveBuffer">The kernel receive buffer of accepted connections (0: the default); small, so a slow reader pushes back at once.</param>
    public TcpLineSink(int port = 0, int receiveBuffer = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (receiveBuffer > 0)
        {
            _listener.Server.ReceiveBufferSize = receiveBuffer;
        }

        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<string> Lines { get; } = new();

    public int Connections { get; private set; }

    /// <summary>Most lines read per second per connection (0: as fast as they come): a carbon or StatsD daemon that cannot keep up, so TCP pushes back.</summary>
    public int LinesPerSecond { get; set; }

    public Task<bool> WaitForLinesAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Lines.Count >= count, timeout);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Task.WhenAll([_accept, .. _connections]).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException or IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Connections++;
                _connections.Add(Task.Run(() => ReadAsync(client)));
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    private async Task ReadAsync(TcpClient client)
    {
        using (client)
        using (var reader = new StreamReader(client.GetStream(), Encoding.UTF8))
        {
            try
            {
                var read = 0;
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    Lines.Enqueue(line);
                    if (LinesPerSecond > 0 && ++read % 100 == 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(100.0 / LinesPerSecond), _stop.Token);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }
    }
}

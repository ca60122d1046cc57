using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// A persistent TCP connection to StatsD (its <c>servers: [{server: './servers/tcp'}]</c> mode). Opened on
/// first use, checked before each write, reopened after any error.
/// </summary>
internal sealed class StatsDTcpSender(string host, int port, TimeSpan connectTimeout) : IStatsDSender
{
    private Socket? _socket;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_socket is not null && PeerClosed(_socket))
        {
            Reset();
        }

        var socket = _socket ??= await ConnectAsync(cancellationToken);
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            if (sent <= 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            data = data[sent..];
        }
    }

    public void Reset()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public ValueTask DisposeAsync()
    {
        Reset();
        return ValueTask.CompletedTask;
    }

    /// <summary>A readable socket with nothing to read has seen the peer's FIN (StatsD never writes back).</summary>
    private static bool PeerClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private async ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        var endpoint = await StatsDEndpointResolver.ResolveAsync(host, port, timeout.Token);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

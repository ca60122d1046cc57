using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// A persistent TCP connection to StatsD (its <c>servers: [{server: './servers/tcp'}]</c> mode). Opened on
/// first use, checked before each write, reopened after any error.
/// </summary>
internal sealed class StatsDTcpSender(string host, int port, TimeSpan connectTimeout)
    : StatsDSocketSender(host, port, SocketType.Stream, ProtocolType.Tcp, connectTimeout)
{
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (Current is { } open && PeerClosed(open))
        {
            Reset();
        }

        var socket = await GetSocketAsync(cancellationToken);
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
}

using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// One connected UDP socket. Connecting lets the kernel report an ICMP port unreachable as a socket error (on a
/// later send, or in SO_ERROR), so a StatsD that is down shows up as an error instead of silent loss.
/// </summary>
internal sealed class StatsDUdpSender(string host, int port, TimeSpan connectTimeout)
    : StatsDSocketSender(host, port, SocketType.Dgram, ProtocolType.Udp, connectTimeout)
{
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var socket = await GetSocketAsync(cancellationToken);
        var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
        if (sent != data.Length)
        {
            throw new SocketException((int)SocketError.MessageSize);
        }
    }

    /// <summary>The error an ICMP message left on the socket since the last send or check (and clears it); Success when none.</summary>
    public SocketError TakePendingError()
    {
        if (Current is not { } socket)
        {
            return SocketError.Success;
        }

        try
        {
            return (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
        catch (ObjectDisposedException)
        {
            return SocketError.NotConnected;
        }
    }
}

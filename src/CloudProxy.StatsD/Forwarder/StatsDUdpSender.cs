using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// One connected UDP socket. Connecting lets the kernel report ICMP port-unreachable as a socket error on a
/// later send, so a StatsD that is down shows up as errors (and retries) instead of silent loss.
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
}

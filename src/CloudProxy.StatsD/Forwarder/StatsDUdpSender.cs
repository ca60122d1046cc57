using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// One connected UDP socket. Connecting lets the kernel report ICMP port-unreachable as a socket error on a
/// later send, so a StatsD that is down shows up as errors (and retries) instead of silent loss.
/// </summary>
internal sealed class StatsDUdpSender(string host, int port) : IStatsDSender
{
    private Socket? _socket;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var socket = _socket ??= await ConnectAsync(cancellationToken);
        var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
        if (sent != data.Length)
        {
            throw new SocketException((int)SocketError.MessageSize);
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

    private async ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var endpoint = await StatsDEndpointResolver.ResolveAsync(host, port, cancellationToken);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

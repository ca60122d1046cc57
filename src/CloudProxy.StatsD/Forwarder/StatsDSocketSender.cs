using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// The socket both senders share: resolved and connected on first use (within a timeout), dropped by
/// <see cref="Reset"/> after an error so the next send opens a new one.
/// </summary>
internal abstract class StatsDSocketSender(string host, int port, SocketType socketType, ProtocolType protocol, TimeSpan connectTimeout)
    : IStatsDSender
{
    private Socket? _socket;

    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

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

    /// <summary>The open socket, if any, without connecting.</summary>
    protected Socket? Current => _socket;

    protected async ValueTask<Socket> GetSocketAsync(CancellationToken cancellationToken) =>
        _socket ??= await ConnectAsync(cancellationToken);

    private async ValueTask<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        var endpoint = await StatsDEndpointResolver.ResolveAsync(host, port, timeout.Token);
        var socket = new Socket(endpoint.AddressFamily, socketType, protocol);
        if (protocol == ProtocolType.Tcp)
        {
            socket.NoDelay = true;
        }

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

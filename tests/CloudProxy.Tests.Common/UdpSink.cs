using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CloudProxy.Tests.Common;

/// <summary>A real UDP socket on 127.0.0.1 that keeps every datagram it receives, byte for byte.</summary>
public sealed class UdpSink : IDisposable
{
    private readonly UdpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public UdpSink()
        : this(0)
    {
    }

    /// <summary>On a given port: a StatsD daemon coming back where it was.</summary>
    public UdpSink(int port)
    {
        _client = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
        _client.Client.ReceiveBufferSize = 8 * 1024 * 1024;
        Port = ((IPEndPoint)_client.Client.LocalEndPoint!).Port;
        _loop = Task.Run(ReceiveLoopAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<byte[]> Datagrams { get; } = new();

    /// <summary>Every StatsD line received so far, across datagrams.</summary>
    public IReadOnlyList<string> Lines =>
        Datagrams.SelectMany(d => Encoding.UTF8.GetString(d).Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();

    public Task<bool> WaitForLinesAsync(int count, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => Lines.Count >= count, timeout);

    public void Dispose()
    {
        _stop.Cancel();
        _client.Dispose();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var result = await _client.ReceiveAsync(_stop.Token);
                Datagrams.Enqueue(result.Buffer);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
        }
    }
}

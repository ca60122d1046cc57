using System.Net;
using System.Net.Sockets;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Outbox;
using CloudProxy.Graphite.Keys;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite.Ingress;

/// <summary>
/// carbon's plaintext line protocol on its own TCP port for agents that speak only that. Off unless
/// <c>CloudProxy:Graphite:Gateway:PlaintextAddress</c> names an address (carbon's is 127.0.0.1:2003, which a
/// carbon-cache on the same box already owns; polymur-gateway never had this listener). Each
/// read's complete lines are validated and enqueued as one envelope under the key name <c>_plaintext</c>.
/// When the outbox refuses, the connection stops being read until it accepts: TCP pushes back on the agent
/// instead of anything being dropped. The same holds over the listener's quota (PlaintextPointsPerSecond).
/// </summary>
internal sealed partial class GraphitePlaintextListener : BackgroundService
{
    public const string KeyName = "_plaintext";
    private const int ReadBytes = 64 * 1024;
    private const int MaxPendingBytes = 1024 * 1024;

    private readonly GraphiteSubmitter _submitter;
    private readonly GraphiteQuotas _quotas;
    private readonly GraphiteIngressMetrics _metrics;
    private readonly GraphiteGatewayOptions _options;
    private readonly ILogger<GraphitePlaintextListener> _logger;
    private readonly TimeProvider _time;
    private readonly LogThrottle _connectionFailedLog = new();
    private TcpListener? _listener;

    public GraphitePlaintextListener(GraphiteSubmitter submitter, GraphiteQuotas quotas, GraphiteIngressMetrics metrics, IOptions<GraphiteOptions> options, ILogger<GraphitePlaintextListener> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _submitter = submitter;
        _quotas = quotas;
        _metrics = metrics;
        _options = options.Value.Gateway;
        _logger = logger;
    }

    /// <summary>The port bound (useful with PlaintextPort 0); 0 before start or when off.</summary>
    public int Port { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(_options.PlaintextAddress))
        {
            return Task.CompletedTask;
        }

        _listener = new TcpListener(GraphiteOptionsValidator.ParseEndPoint(_options.PlaintextAddress)!);
        try
        {
            _listener.Start();
        }
        catch (SocketException ex)
        {
            _listener.Dispose();
            _listener = null;
            throw new ListenerBindException(GraphiteOptions.Section + ":Gateway:PlaintextAddress", _options.PlaintextAddress, ex);
        }

        var bound = (IPEndPoint)_listener.LocalEndpoint;
        Port = bound.Port;
        Log.Listening(_logger, bound.Address, Port);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Stop();
        await base.StopAsync(cancellationToken);
    }

    /// <summary>Also when the host never got to stop it (another listener failed to start).</summary>
    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        var connections = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }

            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(Task.Run(() => ServeAsync(socket, stoppingToken), CancellationToken.None));
        }

        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(Socket socket, CancellationToken stoppingToken)
    {
        using var _ = socket;
        using var pending = new GraphitePooledBuffer(ReadBytes * 2);
        using var lines = new GraphitePooledBuffer(ReadBytes * 2);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var read = await socket.ReceiveAsync(pending.GetMemory(ReadBytes), SocketFlags.None, stoppingToken);
                if (read == 0)
                {
                    // The peer closed: an unterminated last line still counts, as carbon's reader takes it.
                    await SubmitAsync(pending, lines, final: true, stoppingToken);
                    return;
                }

                pending.Advance(read);
                await SubmitAsync(pending, lines, final: false, stoppingToken);
                if (pending.Length > MaxPendingBytes)
                {
                    if (_connectionFailedLog.ShouldLog(out var closed))
                    {
                        Log.ConnectionFailed(_logger, closed, socket.RemoteEndPoint?.ToString() ?? "?", $"a line longer than {MaxPendingBytes} bytes");
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task SubmitAsync(GraphitePooledBuffer pending, GraphitePooledBuffer lines, bool final, CancellationToken stoppingToken)
    {
        var result = _submitter.Validate(pending.WrittenSpan, KeyName, default, lines, final);

        // Over the listener's quota the connection is not read until the bucket takes these points: TCP
        // pushes back on the agent, nothing is dropped.
        if (_quotas.Plaintext is { } bucket && result.Good > 0)
        {
            var waited = await bucket.TakeAsync(result.Good, stoppingToken);
            if (waited > TimeSpan.Zero)
            {
                _quotas.Waited(KeyName, waited);
            }
        }

        while (await _submitter.SubmitAsync(lines, result.Good, KeyName) == OutboxResult.Refused)
        {
            _metrics.Refusal("outbox_full");
            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, stoppingToken);
        }

        if (result.Good + result.Bad > 0)
        {
            _metrics.Request("plaintext", 200);
        }

        // Keep the unterminated tail for the next read.
        var tail = pending.WrittenSpan[result.Consumed..].ToArray();
        pending.Clear();
        pending.Write(tail);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.PlaintextListening, Level = LogLevel.Information, Message = "Graphite plaintext listener on {Address}:{Port}")]
        public static partial void Listening(ILogger logger, IPAddress address, int port);

        [LoggerMessage(EventId = GraphiteEventIds.PlaintextConnectionFailed, Level = LogLevel.Warning, Message = "Closed {Count} plaintext connection(s) since the last report (the last from {Peer}: {Reason})")]
        public static partial void ConnectionFailed(ILogger logger, long count, string peer, string reason);
    }
}

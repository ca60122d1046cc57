using System.Diagnostics;
using System.Net.Sockets;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Telemetry;
using CloudProxy.Core.Transport;
using CloudProxy.StatsD.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// The <c>statsd-forwarder</c>: takes batches of <c>statsd.lines</c> envelopes, packs their lines into
/// datagrams of at most MaxDatagramBytes (never splitting a line) and sends them over one connected UDP
/// socket or one persistent TCP connection. Socket errors are counted and answered Retry for every envelope
/// not yet fully sent; they are never thrown.
/// </summary>
public sealed partial class StatsDForwarder : IEnvelopeHandler, IAsyncDisposable
{
    /// <summary>The envelope kind the StatsD ingress writes: UTF-8 StatsD lines, each ending in <c>\n</c>.</summary>
    public const string LinesKind = "statsd.lines";

    /// <summary>Chunk size for TCP writes (no datagram limit applies on a stream).</summary>
    private const int TcpChunkBytes = 64 * 1024;

    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly StatsDForwarderOptions _options;
    private readonly StatsDForwarderMetrics _metrics;
    private readonly ILogger<StatsDForwarder> _logger;
    private readonly IStatsDSender _sender;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly LogThrottle _sendFailedLog = new();
    private readonly LogThrottle _unknownKindLog = new();
    private readonly LogThrottle _lineTooLargeLog = new();

    public StatsDForwarder(IOptions<StatsDOptions> options, StatsDForwarderMetrics metrics, ILogger<StatsDForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Topic = options.Value.Topic;
        _options = options.Value.Forwarder;
        _metrics = metrics;
        _logger = logger;
        _sender = _options.Protocol == StatsDForwarderProtocol.Tcp
            ? new StatsDTcpSender(_options.Host, _options.Port, TimeSpan.FromSeconds(5))
            : new StatsDUdpSender(_options.Host, _options.Port, TimeSpan.FromSeconds(5));
    }

    public string Topic { get; }

    public async ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(outcomes);
        using var activity = StartActivity(batch);
        var tcp = _options.Protocol == StatsDForwarderProtocol.Tcp;
        var total = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            total += batch[i].Payload.Length;
        }

        using var packer = new StatsDDatagramPacker(tcp ? TcpChunkBytes : _options.MaxDatagramBytes, terminateLines: tcp, capacityHint: total + 64);
        for (var i = 0; i < batch.Count; i++)
        {
            var envelope = batch[i];
            if (!string.Equals(envelope.Kind, LinesKind, StringComparison.Ordinal))
            {
                outcomes[i] = DeliveryOutcome.Drop;
                _metrics.UnknownKind.Inc();
                if (_unknownKindLog.ShouldLog(out var dropped))
                {
                    Log.UnknownKind(_logger, dropped, envelope.Kind, Topic);
                }

                continue;
            }

            outcomes[i] = DeliveryOutcome.Success;
            packer.Add(envelope.Payload.Span, i);
        }

        packer.Complete();
        if (packer.Datagrams.Count == 0)
        {
            return;
        }

        try
        {
            await _gate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: nothing was sent, so everything is offered again later.
            RetryFrom(0, outcomes);
            return;
        }

        try
        {
            await SendAllAsync(packer, outcomes, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync();
        _gate.Dispose();
    }

    private async ValueTask SendAllAsync(StatsDDatagramPacker packer, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        var datagrams = packer.Datagrams;
        for (var d = 0; d < datagrams.Count; d++)
        {
            var datagram = datagrams[d];
            if (datagram.Oversize)
            {
                _metrics.OversizeLines.Inc();
                if (datagram.Length > StatsDForwarderOptions.MaxUdpPayload && _options.Protocol == StatsDForwarderProtocol.Udp)
                {
                    // Larger than any UDP datagram: retrying cannot help, so the line is dropped and counted.
                    _metrics.LinesTooLarge.Inc();
                    if (_lineTooLargeLog.ShouldLog(out var dropped))
                    {
                        Log.LineTooLarge(_logger, dropped, datagram.Length);
                    }

                    continue;
                }
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(SendTimeout);
                await _sender.SendAsync(packer.GetBytes(datagram), timeout.Token);
                _metrics.DatagramsSent.Inc();
                _metrics.LinesSent.Inc(datagram.LineCount);
                _metrics.BytesSent.Inc(datagram.Length);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                _metrics.SendErrors.Inc();
                _sender.Reset();
                if (_sendFailedLog.ShouldLog(out var failures))
                {
                    Log.SendFailed(_logger, _options.Host, _options.Port, failures, ex.Message);
                }

                RetryFrom(datagram.FirstItem, outcomes);
                return;
            }
        }
    }

    /// <summary>Every envelope from <paramref name="first"/> on that was going to be sent is retried (at least once).</summary>
    private static void RetryFrom(int first, DeliveryOutcome[] outcomes)
    {
        for (var i = first; i < outcomes.Length; i++)
        {
            if (outcomes[i] == DeliveryOutcome.Success)
            {
                outcomes[i] = DeliveryOutcome.Retry;
            }
        }
    }

    private static Activity? StartActivity(IReadOnlyList<Envelope> batch)
    {
        if (!CloudProxyTelemetry.Source.HasListeners())
        {
            return null;
        }

        if (batch.Count == 1)
        {
            return CloudProxyTelemetry.StartFromEnvelope("statsd.forward", batch[0].TraceParent, batch[0].TraceState);
        }

        List<ActivityLink>? links = null;
        for (var i = 0; i < batch.Count && i < 32; i++)
        {
            if (batch[i].TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, batch[i].TraceState, isRemote: true, out var context))
            {
                (links ??= []).Add(new ActivityLink(context));
            }
        }

        return CloudProxyTelemetry.Source.StartActivity("statsd.forward", ActivityKind.Consumer, default(ActivityContext), links: links);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = StatsDEventIds.SendFailed, Level = LogLevel.Warning, Message = "Sending to StatsD at {Host}:{Port} failed {Count} time(s) since the last report; the batches are retried: {Error}")]
        public static partial void SendFailed(ILogger logger, string host, int port, long count, string error);

        [LoggerMessage(EventId = StatsDEventIds.UnknownKind, Level = LogLevel.Warning, Message = "Dropped {Count} envelope(s) since the last report, the last of kind {Kind} on topic {Topic}: the StatsD forwarder reads only statsd.lines")]
        public static partial void UnknownKind(ILogger logger, long count, string kind, string topic);

        [LoggerMessage(EventId = StatsDEventIds.LineTooLarge, Level = LogLevel.Warning, Message = "Dropped {Count} StatsD line(s) since the last report that are larger than any UDP datagram (the last: {Bytes} bytes)")]
        public static partial void LineTooLarge(ILogger logger, long count, int bytes);
    }
}

using System.Diagnostics;
using System.Net.Sockets;
using CloudProxy.Core.Delivery;
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
/// socket or one persistent TCP connection. Socket errors are counted and answered Unavailable for every
/// envelope not yet fully sent (the daemon is down: Core keeps them and probes again); they are never thrown.
/// Over UDP, the envelopes sent lately stay in a <see cref="StatsDUdpWindow"/> until no ICMP port unreachable
/// came back for them; when one does, the daemon is taken as down: the window is deferred to be sent again,
/// new envelopes are answered Unavailable without sending, and an empty datagram probes until it answers.
/// </summary>
internal sealed partial class StatsDForwarder : IEnvelopeHandler, IAsyncDisposable
{
    /// <summary>The envelope kind the StatsD ingress writes: UTF-8 StatsD lines, each ending in <c>\n</c>.</summary>
    public const string LinesKind = "statsd.lines";

    /// <summary>Chunk size for TCP writes (no datagram limit applies on a stream).</summary>
    private const int TcpChunkBytes = 64 * 1024;

    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly StatsDForwarderOptions _options;
    private readonly StatsDForwarderMetrics _metrics;
    private readonly IDeferrals _deferrals;
    private readonly TimeProvider _time;
    private readonly ILogger<StatsDForwarder> _logger;
    private readonly StatsDSocketSender _sender;
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213:Disposable fields should be disposed", Justification = "the same object as _sender, disposed there")]
    private readonly StatsDUdpSender? _udp;
    private readonly StatsDUdpWindow? _window;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _confirming = Task.CompletedTask;
    private bool _down;
    private int _disposed;
    private long _nextProbeTicks;
    private readonly LogThrottle _sendFailedLog = new();
    private readonly LogThrottle _unknownKindLog = new();
    private readonly LogThrottle _lineTooLargeLog = new();

    public StatsDForwarder(IOptions<StatsDOptions> options, StatsDForwarderMetrics metrics, IDeferrals deferrals, TimeProvider time, ILogger<StatsDForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Topic = options.Value.Topic;
        _options = options.Value.Forwarder;
        _metrics = metrics;
        _deferrals = deferrals;
        _time = time;
        _logger = logger;
        if (_options.Protocol == StatsDForwarderProtocol.Tcp)
        {
            _sender = new StatsDTcpSender(_options.Host, _options.Port, TimeSpan.FromSeconds(5));
        }
        else
        {
            _sender = _udp = new StatsDUdpSender(_options.Host, _options.Port, TimeSpan.FromSeconds(5));
            _window = new StatsDUdpWindow(TimeSpan.FromMilliseconds(_options.UdpConfirmMilliseconds), _options.UdpWindowBytes);
            _confirming = Task.Run(() => ConfirmLoopAsync(_stop.Token));
        }
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
            UnavailableFrom(0, outcomes);
            return;
        }

        try
        {
            if (_udp is not null && _down && !await ProbeAsync(cancellationToken))
            {
                // Held back while the daemon is unreachable: nothing is sent into the void.
                UnavailableFrom(0, outcomes);
                return;
            }

            if (await SendAllAsync(packer, outcomes, cancellationToken) && _window is not null)
            {
                // On loopback (a sidecar, a daemon on the same host) the ICMP answer is already there when send
                // returns: then this batch is known lost before it is answered, and stays where it was.
                if (_udp!.TakePendingError() is var error and not SocketError.Success)
                {
                    _metrics.SendErrors.Inc();
                    UnavailableFrom(0, outcomes);
                    await MarkDownAsync(error.ToString());
                    return;
                }

                Remember(batch, outcomes);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as IEnvelopeHandler: the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _confirming;
        await _sender.DisposeAsync();
        _gate.Dispose();
        _stop.Dispose();
    }

    /// <summary>Puts the envelopes just sent into the UDP window; a send that succeeded also confirms older ones.</summary>
    private void Remember(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes)
    {
        var now = _time.GetUtcNow().UtcTicks;
        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] == DeliveryOutcome.Success)
            {
                _metrics.LinesUnconfirmed.Inc(_window!.Sent(batch[i], batch[i].Payload.Span.Count((byte)'\n'), now));
            }
        }
    }

    /// <summary>Checks the socket for an ICMP error every confirmation period, so a quiet forwarder still confirms (or resends) its window.</summary>
    private async Task ConfirmLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.UdpConfirmMilliseconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                if (_window!.Count == 0 || !await _gate.WaitAsync(0, stop))
                {
                    continue;
                }

                try
                {
                    var error = _udp!.TakePendingError();
                    if (error == SocketError.Success)
                    {
                        _metrics.LinesDelivered.Inc(_window.Confirm(_time.GetUtcNow().UtcTicks));
                    }
                    else if (!_down)
                    {
                        await MarkDownAsync(error.ToString());
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The daemon is unreachable: every unconfirmed envelope is kept to be sent again, and sending stops until a probe answers.</summary>
    private async Task MarkDownAsync(string error)
    {
        _down = true;
        _nextProbeTicks = (_time.GetUtcNow() + TimeSpan.FromSeconds(_options.ProbeIntervalSeconds)).UtcTicks;
        _metrics.DaemonDown.Set(1);
        _sender.Reset();
        var suspects = _window!.TakeAll();
        var kept = 0;
        foreach (var (envelope, lines) in suspects)
        {
            if (await _deferrals.DeferAsync(envelope))
            {
                kept++;
                _metrics.LinesResent.Inc(lines);
            }
            else
            {
                _metrics.LinesNotKept.Inc(lines);
            }
        }

        Log.DaemonDown(_logger, _options.Host, _options.Port, error, kept);
    }

    /// <summary>While down: at most once per probe interval, an empty datagram and a look for the ICMP answer.</summary>
    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        if (_time.GetUtcNow().UtcTicks < _nextProbeTicks)
        {
            return false;
        }

        _nextProbeTicks = (_time.GetUtcNow() + TimeSpan.FromSeconds(_options.ProbeIntervalSeconds)).UtcTicks;
        try
        {
            _udp!.TakePendingError();
            await _udp.SendAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(_options.UdpConfirmMilliseconds), _time, cancellationToken);
            if (_udp.TakePendingError() != SocketError.Success)
            {
                _udp.Reset();
                return false;
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            _udp!.Reset();
            return false;
        }

        _down = false;
        _metrics.DaemonDown.Set(0);
        Log.DaemonBack(_logger, _options.Host, _options.Port);
        return true;
    }

    /// <summary>Sends every datagram; false (after marking what was not sent) when the socket failed.</summary>
    private async ValueTask<bool> SendAllAsync(StatsDDatagramPacker packer, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
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
                if (_window is null)
                {
                    _metrics.LinesDelivered.Inc(datagram.LineCount);
                }
                else if (d == 0)
                {
                    // The send went through, so no ICMP error was pending: what was sent early enough arrived.
                    _metrics.LinesDelivered.Inc(_window.Confirm(_time.GetUtcNow().UtcTicks));
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                _metrics.SendErrors.Inc();
                _sender.Reset();
                if (_window is not null)
                {
                    // UDP: what this batch sent before the error is as doubtful as the window: all of it again.
                    _metrics.LinesResent.Inc(datagrams.Take(d).Sum(g => g.LineCount));
                    UnavailableFrom(0, outcomes);
                    await MarkDownAsync(ex.Message);
                }
                else
                {
                    if (_sendFailedLog.ShouldLog(out var failures))
                    {
                        Log.SendFailed(_logger, _options.Host, _options.Port, failures, ex.Message);
                    }

                    // TCP: part of this chunk may have reached the daemon; its lines go again with the rest.
                    _metrics.LinesResent.Inc(datagram.LineCount);
                    UnavailableFrom(datagram.FirstItem, outcomes);
                }

                return false;
            }
        }

        return true;
    }

    /// <summary>Every envelope from <paramref name="first"/> on that was going to be sent is offered again (at least once).</summary>
    private static void UnavailableFrom(int first, DeliveryOutcome[] outcomes)
    {
        for (var i = first; i < outcomes.Length; i++)
        {
            if (outcomes[i] == DeliveryOutcome.Success)
            {
                outcomes[i] = DeliveryOutcome.Unavailable;
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

        [LoggerMessage(EventId = StatsDEventIds.DaemonDown, Level = LogLevel.Warning, Message = "StatsD at {Host}:{Port} is unreachable ({Error}); {Count} unconfirmed envelopes kept to send again, holding new lines and probing")]
        public static partial void DaemonDown(ILogger logger, string host, int port, string error, int count);

        [LoggerMessage(EventId = StatsDEventIds.DaemonBack, Level = LogLevel.Information, Message = "StatsD at {Host}:{Port} answers again")]
        public static partial void DaemonBack(ILogger logger, string host, int port);

        [LoggerMessage(EventId = StatsDEventIds.UnknownKind, Level = LogLevel.Warning, Message = "Dropped {Count} envelope(s) since the last report, the last of kind {Kind} on topic {Topic}: the StatsD forwarder reads only statsd.lines")]
        public static partial void UnknownKind(ILogger logger, long count, string kind, string topic);

        [LoggerMessage(EventId = StatsDEventIds.LineTooLarge, Level = LogLevel.Warning, Message = "Dropped {Count} StatsD line(s) since the last report that are larger than any UDP datagram (the last: {Bytes} bytes)")]
        public static partial void LineTooLarge(ILogger logger, long count, int bytes);
    }
}

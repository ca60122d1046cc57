using System.Globalization;
using CloudProxy.Core.Delivery;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Telemetry;
using CloudProxy.Core.Transport;
using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>
/// The <c>sentry-forwarder</c>: delivers every envelope of a batch to every upstream, concurrently within each
/// upstream's AIMD limit. An envelope is Success once each upstream accepted it or refused it for good (4xx:
/// dropped and counted). When some upstreams took it and others must be tried again, a copy naming only
/// those others goes to the topic's durable deferral log, so a retry never re-sends to an upstream that
/// already has it; only if the deferral log refuses that copy is the whole envelope retried, and the
/// duplicates it will cause are counted. When no upstream answered at all, the envelope is Unavailable
/// (Core keeps a wholly unavailable batch where it is); when a rate limit holds it back, Retry.
/// </summary>
internal sealed partial class SentryForwarder : IEnvelopeHandler
{
    private readonly IReadOnlyList<SentryUpstreamClient> _upstreams;
    private readonly IDeferrals _deferrals;
    private readonly SentryForwarderMetrics _metrics;
    private readonly ILogger<SentryForwarder> _logger;
    private readonly LogThrottle _unknownKindLog;
    private readonly LogThrottle _requeueFailedLog;
    private readonly SentryScrubber _scrubber;

    public SentryForwarder(
        IOptions<SentryOptions> options,
        IHttpClientFactory clients,
        IDeferrals deferrals,
        SentryRateLimitTable limits,
        SentryForwarderMetrics metrics,
        CollectorRegistry registry,
        TimeProvider time,
        ILogger<SentryForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        Topic = options.Value.Topic;
        var forwarder = options.Value.Forwarder;
        _upstreams = [.. SentryUpstream.Resolve(forwarder, []).Select(u => new SentryUpstreamClient(u, forwarder, clients, limits, metrics, time, logger))];
        _deferrals = deferrals;
        _metrics = metrics;
        _logger = logger;
        _unknownKindLog = new LogThrottle(time);
        _requeueFailedLog = new LogThrottle(time);
        _scrubber = new SentryScrubber(options.Value.Scrub, metrics.Scrubbed);
        registry.AddBeforeCollectCallback(() =>
        {
            // Computed at scrape time: limits expire on their own, with no event to update a gauge.
            var live = limits.Snapshot(time.GetUtcNow());
            foreach (var upstream in _upstreams)
            {
                metrics.Concurrency(upstream.Upstream.Name, upstream.Limiter.Limit, upstream.Limiter.InFlight);
                metrics.RateLimitsActive(upstream.Upstream.Name, live.Count(l => l.Upstream == upstream.Upstream.Name));
            }
        });
    }

    public string Topic { get; }

    public IReadOnlyList<SentryUpstreamClient> Upstreams => _upstreams;

    public async ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(outcomes);
        using var activity = CloudProxyTelemetry.StartFromEnvelope("sentry.forward", batch.Count > 0 ? batch[0].TraceParent : null, batch.Count > 0 ? batch[0].TraceState : null);
        var tasks = new Task<DeliveryOutcome>[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            tasks[i] = DeliverAsync(batch[i], cancellationToken);
        }

        for (var i = 0; i < tasks.Length; i++)
        {
            outcomes[i] = await tasks[i];
        }
    }

    private async Task<DeliveryOutcome> DeliverAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        if (_upstreams.Count == 0)
        {
            // Accepted earlier with another configuration (a spool replayed after a restart): keep it.
            return DeliveryOutcome.Unavailable;
        }

        if (!envelope.Kind.StartsWith("sentry.", StringComparison.Ordinal))
        {
            _metrics.UnknownKind.Inc();
            if (_unknownKindLog.ShouldLog(out var dropped))
            {
                Log.UnknownKind(_logger, dropped, envelope.Kind, Topic);
            }

            return DeliveryOutcome.Drop;
        }

        // Scrubbed once for every upstream, before any request is built; a requeued or held copy is the scrubbed one.
        envelope = _scrubber.Scrub(envelope);
        var targets = Targets(envelope);
        var results = new Task<(SentrySendResult Result, Envelope? Held)>[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            results[i] = targets[i].SendAsync(envelope, cancellationToken);
        }

        var sent = await Task.WhenAll(results);
        var done = new SentrySendResult[sent.Length];
        var pending = new List<SentryUpstreamClient>();
        for (var i = 0; i < targets.Count; i++)
        {
            done[i] = sent[i].Result;
            if (sent[i].Held is { } held && !await _deferrals.DeferAsync(held))
            {
                // The items a rate limit holds could not be kept apart: retry the whole envelope for this
                // upstream, which will then see the items it already took a second time.
                _metrics.Duplicate(targets[i].Upstream.Name);
                done[i] = SentrySendResult.Limited;
            }

            if (done[i] != SentrySendResult.Done)
            {
                pending.Add(targets[i]);
            }
        }

        if (pending.Count == 0)
        {
            return DeliveryOutcome.Success;
        }

        if (pending.Count == targets.Count)
        {
            return Array.TrueForAll(done, d => d == SentrySendResult.Failed) ? DeliveryOutcome.Unavailable : DeliveryOutcome.Retry;
        }

        var copy = CopyOf(envelope, envelope.Payload, null, string.Join(',', pending.Select(p => p.Upstream.Name)));
        if (await _deferrals.DeferAsync(copy))
        {
            _metrics.Requeued.Inc();
            return DeliveryOutcome.Success;
        }

        // No room to keep the copy: retry the whole envelope, and say honestly who will get it twice.
        foreach (var target in targets.Except(pending))
        {
            _metrics.Duplicate(target.Upstream.Name);
        }

        if (_requeueFailedLog.ShouldLog(out var whole))
        {
            Log.RequeueFailed(_logger, whole, pending.Count);
        }

        return DeliveryOutcome.Retry;
    }

    private List<SentryUpstreamClient> Targets(Envelope envelope)
    {
        if (!envelope.Headers.TryGetValue(SentryEnvelopeHeaders.Upstreams, out var names))
        {
            return [.. _upstreams];
        }

        var wanted = names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var targets = _upstreams.Where(u => wanted.Contains(u.Upstream.Name, StringComparer.Ordinal)).ToList();

        // An upstream named in a requeued copy but no longer configured: deliver to all rather than lose it.
        return targets.Count == wanted.Length ? targets : [.. _upstreams];
    }

    /// <summary>A copy of the envelope with another payload (and its categories, when given), for the named upstreams only.</summary>
    internal static Envelope CopyOf(Envelope envelope, ReadOnlyMemory<byte> payload, SentryCategories? categories, string? upstreams)
    {
        var headers = new Dictionary<string, string>(envelope.Headers, StringComparer.OrdinalIgnoreCase);
        if (upstreams is not null)
        {
            headers[SentryEnvelopeHeaders.Upstreams] = upstreams;
        }

        if (categories is { } c)
        {
            headers[SentryEnvelopeHeaders.Categories] = ((int)c).ToString(CultureInfo.InvariantCulture);
        }

        return new Envelope
        {
            Topic = envelope.Topic,
            Kind = envelope.Kind,
            Key = envelope.Key,
            ReceivedAt = envelope.ReceivedAt,
            TraceParent = envelope.TraceParent,
            TraceState = envelope.TraceState,
            Headers = headers,
            Payload = payload,
        };
    }

    internal static SentryCategories CategoriesOf(Envelope envelope) =>
        envelope.Headers.TryGetValue(SentryEnvelopeHeaders.Categories, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bits)
            ? (SentryCategories)bits
            : SentryCategories.Default;

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.UnknownKind, Level = LogLevel.Error, Message = "Dropped {Count} envelope(s) since the last report, the last of kind {Kind} on topic {Topic}: not a Sentry payload")]
        public static partial void UnknownKind(ILogger logger, long count, string kind, string topic);

        [LoggerMessage(EventId = SentryEventIds.RequeueFailed, Level = LogLevel.Warning, Message = "Could not defer {Count} envelope(s) since the last report for their pending upstreams (the last for {Pending}; spool full); retrying them whole, duplicates counted")]
        public static partial void RequeueFailed(ILogger logger, long count, int pending);
    }
}

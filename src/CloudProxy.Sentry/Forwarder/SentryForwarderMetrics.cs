using Prometheus;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>What an upstream did with one request; the <c>outcome</c> label.</summary>
internal enum SentryUpstreamOutcome
{
    Delivered = 0,
    Rejected = 1,
    RateLimited = 2,
    ServerError = 3,
    TransportError = 4,

    /// <summary>Not sent: a rate limit of this upstream is in force; kept for later.</summary>
    Deferred = 5,
}

/// <summary>The forwarder's instruments (ours and ogre's), per upstream.</summary>
internal sealed class SentryForwarderMetrics
{
    private static readonly string[] OutcomeNames = ["delivered", "rejected", "rate_limited", "server_error", "transport_error", "deferred"];

    private readonly Counter _requests;
    private readonly Counter _dropped;
    private readonly Counter _duplicates;
    private readonly Gauge _limit;
    private readonly Gauge _inFlight;
    private readonly Histogram _latency;
    private readonly Gauge _rateLimits;
    private readonly Counter _wireBytes;
    private readonly Counter _bodyBytes;
    private readonly Counter _itemsHeld;
    private readonly Counter _scrubbed;

    public SentryForwarderMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _requests = factory.CreateCounter(SentryMetricNames.UpstreamRequests, "Sentry forwarder requests per upstream, by outcome.", ["upstream", "outcome"]);
        _dropped = factory.CreateCounter(SentryMetricNames.UpstreamDropped, "Envelopes an upstream refused for good (never resent), by status.", ["upstream", "reason"]);
        _duplicates = factory.CreateCounter(SentryMetricNames.Duplicates, "Envelopes that will reach an upstream a second time.", ["upstream"]);
        _limit = factory.CreateGauge(SentryMetricNames.ConcurrencyLimit, "AIMD concurrency limit per upstream.", ["upstream"]);
        _inFlight = factory.CreateGauge(SentryMetricNames.InFlight, "Requests in flight per upstream.", ["upstream"]);
        _latency = factory.CreateHistogram(SentryMetricNames.UpstreamLatency, "Seconds per upstream request (answered ones).", ["upstream"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        _rateLimits = factory.CreateGauge(SentryMetricNames.RateLimitsActive, "Rate limits an upstream announced (429, X-Sentry-Rate-Limits) still in force.", ["upstream"]);
        _wireBytes = factory.CreateCounter(SentryMetricNames.UpstreamWireBytes, "Request body bytes written to each upstream's connections, as sent (gzip-compressed unless Forwarder:Compress is false), every attempt counted.", ["upstream"]);
        _bodyBytes = factory.CreateCounter(SentryMetricNames.UpstreamBodyBytes, "The same request bodies before compression, every attempt counted.", ["upstream"]);
        _itemsHeld = factory.CreateCounter(SentryMetricNames.UpstreamItemsHeld, "Envelope items held back for an upstream by a rate limit on their category while the envelope's other items were sent.", ["upstream"]);
        _scrubbed = factory.CreateCounter(SentryMetricNames.ScrubbedValues, "Values replaced with [Filtered] before sending upstream (CloudProxy:Sentry:Scrub), by rule, every delivery attempt counted.", ["rule"]);
        Requeued = factory.CreateCounter(SentryMetricNames.Requeued, "Envelopes delivered to some upstreams and requeued for the rest.");
        UnknownKind = factory.CreateCounter(SentryMetricNames.EnvelopesDropped, "Envelopes the Sentry forwarder could not read, by reason.", ["reason"]).WithLabels("unknown_kind");
        OgreRequests = factory.CreateCounter(SentryMetricNames.OgreSentryRequests, "ogre: requests sent to upstream Sentry instances.");
        OgreFailed = factory.CreateCounter(SentryMetricNames.OgreSentryFailedRequests, "ogre: requests to upstream Sentry instances that failed.");
    }

    public ICounter Requeued { get; }

    public ICounter UnknownKind { get; }

    public ICounter OgreRequests { get; }

    public ICounter OgreFailed { get; }

    public void Outcome(string upstream, SentryUpstreamOutcome outcome) => _requests.WithLabels(upstream, OutcomeNames[(int)outcome]).Inc();

    public void Dropped(string upstream, int status) => _dropped.WithLabels(upstream, "status_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();

    public void WireBytes(string upstream, long wire, long uncompressed)
    {
        _wireBytes.WithLabels(upstream).Inc(wire);
        _bodyBytes.WithLabels(upstream).Inc(uncompressed);
    }

    public void ItemsHeld(string upstream, int items) => _itemsHeld.WithLabels(upstream).Inc(items);

    public void Scrubbed(SentryScrubRule rule, int count) => _scrubbed.WithLabels(SentryScrubber.Label(rule)).Inc(count);

    public void Duplicate(string upstream) => _duplicates.WithLabels(upstream).Inc();

    public void Latency(string upstream, TimeSpan elapsed) => _latency.WithLabels(upstream).Observe(elapsed.TotalSeconds);

    public void RateLimitsActive(string upstream, int count) => _rateLimits.WithLabels(upstream).Set(count);

    public void Concurrency(string upstream, int limit, int inFlight)
    {
        _limit.WithLabels(upstream).Set(limit);
        _inFlight.WithLabels(upstream).Set(inFlight);
    }
}

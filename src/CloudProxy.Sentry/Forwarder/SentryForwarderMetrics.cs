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

    public void Duplicate(string upstream) => _duplicates.WithLabels(upstream).Inc();

    public void Latency(string upstream, TimeSpan elapsed) => _latency.WithLabels(upstream).Observe(elapsed.TotalSeconds);

    public void RateLimitsActive(string upstream, int count) => _rateLimits.WithLabels(upstream).Set(count);

    public void Concurrency(string upstream, int limit, int inFlight)
    {
        _limit.WithLabels(upstream).Set(limit);
        _inFlight.WithLabels(upstream).Set(inFlight);
    }
}

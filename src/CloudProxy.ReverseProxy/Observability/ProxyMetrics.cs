using Prometheus;

namespace CloudProxy.ReverseProxy.Observability;

/// <summary>The reverse proxy's instruments, created once in the host's registry.</summary>
internal sealed class ProxyMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public ProxyMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        RequestDuration = factory.CreateHistogram(ReverseProxyMetricNames.RequestDuration, "Time from request to the end of the response, by route.",
            ["route", "method", "status_class"], new HistogramConfiguration { Buckets = LatencyBuckets });
        Requests = factory.CreateCounter(ReverseProxyMetricNames.Requests, "Requests answered, by route.", ["route", "method", "status_class"]);
        CacheLookups = factory.CreateCounter(ReverseProxyMetricNames.CacheLookups, "Cache lookups by result.", ["route", "result"]);
        CacheBypassed = factory.CreateCounter(ReverseProxyMetricNames.CacheBypassed, "Requests the cache stayed out of, by reason (method, authorization, cookie, request_body, no_store, disabled).", ["reason"]);
        HeadersStripped = factory.CreateCounter(ReverseProxyMetricNames.HeadersStripped, "Request headers removed before the cache and the back end (StripRequestHeaders), by header.", ["header"]);
        CacheStored = factory.CreateCounter(ReverseProxyMetricNames.CacheStored, "Responses stored in the cache.", ["route"]);
        CacheNotStored = factory.CreateCounter(ReverseProxyMetricNames.CacheNotStored, "Responses to cacheable requests that were not stored.", ["reason"]);
        CacheStoreErrors = factory.CreateCounter(ReverseProxyMetricNames.CacheStoreErrors, "Cache store failures answered by passing through.", ["operation"]);
        CacheRevalidations = factory.CreateCounter(ReverseProxyMetricNames.CacheRevalidations, "Trips to the back end with a stored entry's validators, by mode and result.", ["mode", "result"]);
        CacheNotModified = factory.CreateCounter(ReverseProxyMetricNames.CacheNotModified, "Conditional requests answered 304 from the cache.", ["route"]);
        Purges = factory.CreateCounter(ReverseProxyMetricNames.Purges, "Purges made on this replica, by kind.", ["kind"]);
        PurgeRefused = factory.CreateCounter(ReverseProxyMetricNames.PurgeRefused, "Purge requests refused, by reason.", ["reason"]);
        PurgeSyncErrors = factory.CreateCounter(ReverseProxyMetricNames.PurgeSyncErrors, "Failed reads and writes of the shared purge log.", ["operation"]);
        CachePurged = factory.CreateCounter(ReverseProxyMetricNames.CachePurged, "Stored entries not served because a purge covers them.");
        CacheCoalesced = factory.CreateCounter(ReverseProxyMetricNames.CacheCoalesced, "Requests that waited for a concurrent fetch of the same key.");
        RateLimited = factory.CreateCounter(ReverseProxyMetricNames.RateLimited, "Requests refused with 429 by the rate limiter.", ["route"]);
        RateLimitStoreErrors = factory.CreateCounter(ReverseProxyMetricNames.RateLimitStoreErrors, "Shared rate-limit store failures (the replica's own limiter answers meanwhile).");
        BackpressureBlocked = factory.CreateCounter(ReverseProxyMetricNames.BackpressureBlocked, "Requests refused by the backpressure window.", ["cause", "criticality"]);
        BackpressureWindow = factory.CreateGauge(ReverseProxyMetricNames.BackpressureWindow, "Concurrency window of the back-end calls.");
        BackpressureAllowance = factory.CreateGauge(ReverseProxyMetricNames.BackpressureAllowance, "Share of the window range the value queries allow (0..1).");
        BackpressureInFlight = factory.CreateGauge(ReverseProxyMetricNames.BackpressureInFlight, "Back-end calls in flight under the window.");
        BackpressureWaiting = factory.CreateGauge(ReverseProxyMetricNames.BackpressureWaiting, "Requests waiting for a slot in the window, by criticality.", ["criticality"]);
        BackpressureFailSafe = factory.CreateGauge(ReverseProxyMetricNames.BackpressureFailSafe, "1 while queries fail and the window walks to the fail-safe value.");
        CriticalityUnknown = factory.CreateCounter(ReverseProxyMetricNames.CriticalityUnknown, "Requests whose criticality header named no class.");
        BackpressureCuts = factory.CreateCounter(ReverseProxyMetricNames.BackpressureCuts, "Multiplicative cuts of the window by signal.", ["signal"]);
        QueryValue = factory.CreateGauge(ReverseProxyMetricNames.QueryValue, "Last value of each backpressure query.", ["query"]);
        QueryFiring = factory.CreateGauge(ReverseProxyMetricNames.QueryFiring, "1 while a backpressure query fires.", ["query"]);
        QueryErrors = factory.CreateCounter(ReverseProxyMetricNames.QueryErrors, "Backpressure query evaluations that failed.", ["query", "reason"]);
        Jitter = factory.CreateCounter(ReverseProxyMetricNames.Jitter, "Requests delayed by jitter or skipped as critical.", ["outcome"]);
    }

    public Histogram RequestDuration { get; }

    public Counter Requests { get; }

    public Counter CacheLookups { get; }

    public Counter CacheBypassed { get; }

    public Counter HeadersStripped { get; }

    public Counter CacheStored { get; }

    public Counter CacheNotStored { get; }

    public Counter CacheStoreErrors { get; }

    public Counter CacheCoalesced { get; }

    public Counter CacheRevalidations { get; }

    public Counter Purges { get; }

    public Counter PurgeRefused { get; }

    public Counter PurgeSyncErrors { get; }

    public Counter CachePurged { get; }

    public Counter CacheNotModified { get; }

    public Counter RateLimited { get; }

    public Counter RateLimitStoreErrors { get; }

    public Counter BackpressureBlocked { get; }

    public Gauge BackpressureWindow { get; }

    public Gauge BackpressureAllowance { get; }

    public Gauge BackpressureInFlight { get; }

    public Gauge BackpressureWaiting { get; }

    public Gauge BackpressureFailSafe { get; }

    public Counter CriticalityUnknown { get; }

    public Counter BackpressureCuts { get; }

    public Gauge QueryValue { get; }

    public Gauge QueryFiring { get; }

    public Counter QueryErrors { get; }

    public Counter Jitter { get; }
}

using Prometheus;

namespace CloudProxy.ReverseProxy.Observability;

/// <summary>The reverse proxy's instruments, created once in the host's registry.</summary>
public sealed class ProxyMetrics
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
        CacheCoalesced = factory.CreateCounter(ReverseProxyMetricNames.CacheCoalesced, "Requests that waited for a concurrent fetch of the same key.");
        RateLimited = factory.CreateCounter(ReverseProxyMetricNames.RateLimited, "Requests refused with 429 by the rate limiter.", ["route"]);
        RateLimitStoreErrors = factory.CreateCounter(ReverseProxyMetricNames.RateLimitStoreErrors, "Shared rate-limit store failures (the replica's own limiter answers meanwhile).");
        BackpressureBlocked = factory.CreateCounter(ReverseProxyMetricNames.BackpressureBlocked, "Requests refused by the backpressure window.", ["cause"]);
        BackpressureWindow = factory.CreateGauge(ReverseProxyMetricNames.BackpressureWindow, "Concurrency window of the back-end calls.");
        BackpressureAllowance = factory.CreateGauge(ReverseProxyMetricNames.BackpressureAllowance, "Share of the window range the value queries allow (0..1).");
        BackpressureInFlight = factory.CreateGauge(ReverseProxyMetricNames.BackpressureInFlight, "Back-end calls in flight under the window.");
        BackpressureCuts = factory.CreateCounter(ReverseProxyMetricNames.BackpressureCuts, "Multiplicative cuts of the window by signal.", ["signal"]);
        QueryValue = factory.CreateGauge(ReverseProxyMetricNames.QueryValue, "Last value of each backpressure query.", ["query"]);
        QueryFiring = factory.CreateGauge(ReverseProxyMetricNames.QueryFiring, "1 while a backpressure query fires.", ["query"]);
        QueryErrors = factory.CreateCounter(ReverseProxyMetricNames.QueryErrors, "Backpressure query evaluations that failed.", ["query"]);
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

    public Counter RateLimited { get; }

    public Counter RateLimitStoreErrors { get; }

    public Counter BackpressureBlocked { get; }

    public Gauge BackpressureWindow { get; }

    public Gauge BackpressureAllowance { get; }

    public Gauge BackpressureInFlight { get; }

    public Counter BackpressureCuts { get; }

    public Gauge QueryValue { get; }

    public Gauge QueryFiring { get; }

    public Counter QueryErrors { get; }

    public Counter Jitter { get; }
}

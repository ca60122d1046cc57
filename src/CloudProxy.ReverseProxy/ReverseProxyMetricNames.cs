namespace CloudProxy.ReverseProxy;

/// <summary>Every metric the reverse proxy exports: <c>cloudproxy_reverseproxy_&lt;thing&gt;_&lt;unit&gt;</c>.
/// Labels are bounded: route ids from configuration, a fixed method list, status classes, never raw paths.</summary>
public static class ReverseProxyMetricNames
{
    /// <summary>Histogram. Labels: <c>route</c>, <c>method</c>, <c>status_class</c> (2xx…5xx).</summary>
    public const string RequestDuration = "cloudproxy_reverseproxy_request_duration_seconds";

    /// <summary>Labels: <c>route</c>, <c>method</c>, <c>status_class</c>.</summary>
    public const string Requests = "cloudproxy_reverseproxy_requests_total";

    /// <summary>Labels: <c>route</c>, <c>result</c> (hit, miss, bypass).</summary>
    public const string CacheLookups = "cloudproxy_reverseproxy_cache_lookups_total";

    /// <summary>Label <c>route</c>: responses written to the store.</summary>
    public const string CacheBypassed = "cloudproxy_reverseproxy_cache_bypassed_total";

    public const string HeadersStripped = "cloudproxy_reverseproxy_request_headers_stripped_total";

    public const string CacheStored = "cloudproxy_reverseproxy_cache_stored_total";

    /// <summary>Label <c>reason</c>: cacheable requests whose response was not stored (no_store, private, set_cookie, vary_star, too_large, status, no_freshness).</summary>
    public const string CacheNotStored = "cloudproxy_reverseproxy_cache_not_stored_total";

    /// <summary>Label <c>operation</c> (get, set): store failures and timeouts, each answered by passing through.</summary>
    public const string CacheStoreErrors = "cloudproxy_reverseproxy_cache_store_errors_total";

    /// <summary>Requests that waited for another request fetching the same key.</summary>
    public const string CacheCoalesced = "cloudproxy_reverseproxy_cache_coalesced_total";

    /// <summary>Label <c>route</c>: requests refused with 429 by the rate limiter.</summary>
    public const string RateLimited = "cloudproxy_reverseproxy_rate_limited_total";

    /// <summary>Shared rate-limit store (Redis) failures; the replica's own limiter answers meanwhile.</summary>
    public const string RateLimitStoreErrors = "cloudproxy_reverseproxy_rate_limit_store_errors_total";

    /// <summary>Label <c>cause</c> (saturated, signal): requests refused by the backpressure window.</summary>
    public const string BackpressureBlocked = "cloudproxy_reverseproxy_backpressure_blocked_total";

    /// <summary>The concurrency window (requests allowed to the back end at once).</summary>
    public const string BackpressureWindow = "cloudproxy_reverseproxy_backpressure_window";

    /// <summary>0..1: the share of the min..max range value queries currently allow.</summary>
    public const string BackpressureAllowance = "cloudproxy_reverseproxy_backpressure_allowance";

    public const string BackpressureInFlight = "cloudproxy_reverseproxy_backpressure_in_flight";

    /// <summary>Label <c>signal</c> (query, backend_status, latency): multiplicative cuts of the window.</summary>
    public const string BackpressureCuts = "cloudproxy_reverseproxy_backpressure_cuts_total";

    /// <summary>Label <c>query</c> (its configured name): the last value (condition queries: number of series).</summary>
    public const string QueryValue = "cloudproxy_reverseproxy_backpressure_query_value";

    /// <summary>Label <c>query</c>: 1 while a condition query fires or a value query is above its warning threshold.</summary>
    public const string QueryFiring = "cloudproxy_reverseproxy_backpressure_query_firing";

    /// <summary>Label <c>query</c>: evaluations that failed (unreachable, bad answer); the last state is kept.</summary>
    public const string QueryErrors = "cloudproxy_reverseproxy_backpressure_query_errors_total";

    /// <summary>Requests delayed by jitter, and those skipped as critical (label <c>outcome</c>: delayed, critical).</summary>
    public const string Jitter = "cloudproxy_reverseproxy_jitter_total";
}

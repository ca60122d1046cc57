namespace CloudProxy.ReverseProxy;

/// <summary>Every metric the reverse proxy exports: <c>cloudproxy_reverseproxy_&lt;thing&gt;_&lt;unit&gt;</c>.
/// Labels are bounded: route ids from configuration, a fixed method list, status classes, never raw paths.</summary>
internal static class ReverseProxyMetricNames
{
    /// <summary>Histogram. Labels: <c>route</c>, <c>method</c>, <c>status_class</c> (2xx…5xx).</summary>
    public const string RequestDuration = "cloudproxy_reverseproxy_request_duration_seconds";

    /// <summary>Labels: <c>route</c>, <c>method</c>, <c>status_class</c>.</summary>
    public const string Requests = "cloudproxy_reverseproxy_requests_total";

    /// <summary>
    /// Labels: <c>route</c>, <c>result</c>: hit (fresh), updating (stale while a background refresh runs), stale
    /// (stale standing in for a failed or 5xx back end), revalidated (the back end said 304 to the entry's
    /// validators), miss, bypass, only_if_cached (504: nothing usable stored). One per request.
    /// </summary>
    public const string CacheLookups = "cloudproxy_reverseproxy_cache_lookups_total";

    /// <summary>Labels: <c>mode</c> (inline, background), <c>result</c> (not_modified, modified, error, collapsed, skipped).</summary>
    public const string CacheRevalidations = "cloudproxy_reverseproxy_cache_revalidations_total";

    /// <summary>Label <c>kind</c> (url, prefix, tag, all): purges made on this replica.</summary>
    public const string Purges = "cloudproxy_reverseproxy_cache_purges_total";

    /// <summary>Label <c>reason</c> (token, bad_request, too_large, method): purge requests refused.</summary>
    public const string PurgeRefused = "cloudproxy_reverseproxy_cache_purge_refused_total";

    /// <summary>Label <c>operation</c> (get, set): failed reads and writes of the shared purge log (retried at the next sync).</summary>
    public const string PurgeSyncErrors = "cloudproxy_reverseproxy_cache_purge_sync_errors_total";

    /// <summary>Stored entries not served because a purge covers them.</summary>
    public const string CachePurged = "cloudproxy_reverseproxy_cache_purged_total";

    /// <summary>Label <c>route</c>: clients' conditional requests answered 304 from the cache.</summary>
    public const string CacheNotModified = "cloudproxy_reverseproxy_cache_not_modified_total";

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

    /// <summary>Labels <c>cause</c> (saturated, signal, shed) and <c>criticality</c>: requests refused by the backpressure window.</summary>
    public const string BackpressureBlocked = "cloudproxy_reverseproxy_backpressure_blocked_total";

    /// <summary>The concurrency window (requests allowed to the back end at once).</summary>
    public const string BackpressureWindow = "cloudproxy_reverseproxy_backpressure_window";

    /// <summary>0..1: the share of the min..max range value queries currently allow.</summary>
    public const string BackpressureAllowance = "cloudproxy_reverseproxy_backpressure_allowance";

    public const string BackpressureInFlight = "cloudproxy_reverseproxy_backpressure_in_flight";

    /// <summary>Label <c>criticality</c>: requests waiting for a slot in the window.</summary>
    public const string BackpressureWaiting = "cloudproxy_reverseproxy_backpressure_waiting";

    /// <summary>1 while a query cannot be answered and the window walks to (or sits at) the fail-safe value.</summary>
    public const string BackpressureFailSafe = "cloudproxy_reverseproxy_backpressure_fail_safe";

    /// <summary>Requests whose criticality header named no class (counted as their route's class).</summary>
    public const string CriticalityUnknown = "cloudproxy_reverseproxy_backpressure_criticality_unknown_total";

    /// <summary>Label <c>signal</c> (query, backend_status, latency): multiplicative cuts of the window.</summary>
    public const string BackpressureCuts = "cloudproxy_reverseproxy_backpressure_cuts_total";

    /// <summary>Label <c>query</c> (its configured name): the last value (condition queries: number of series).</summary>
    public const string QueryValue = "cloudproxy_reverseproxy_backpressure_query_value";

    /// <summary>Label <c>query</c>: 1 while a condition query fires or a value query is above its warning threshold.</summary>
    public const string QueryFiring = "cloudproxy_reverseproxy_backpressure_query_firing";

    /// <summary>Labels <c>query</c>, <c>reason</c> (unreachable, bad_query, bad_answer, empty): evaluations that failed; the window walks to the fail-safe value.</summary>
    public const string QueryErrors = "cloudproxy_reverseproxy_backpressure_query_errors_total";

    /// <summary>Requests delayed by jitter, and those skipped as critical (label <c>outcome</c>: delayed, critical).</summary>
    public const string Jitter = "cloudproxy_reverseproxy_jitter_total";
}

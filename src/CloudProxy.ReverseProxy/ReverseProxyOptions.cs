using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.ReverseProxy.ReverseProxyOptions.Section, typeof(CloudProxy.ReverseProxy.ReverseProxyOptions))]

namespace CloudProxy.ReverseProxy;

/// <summary>
/// Section <c>CloudProxy:ReverseProxy</c>. YARP's own <c>Routes</c> and <c>Clusters</c> live in the same section
/// (or in the file named by <see cref="ConfigFile"/>); per-route overrides of the settings below are YARP route
/// <c>Metadata</c> keys, listed in <see cref="ProxyRouteSettings"/>.
/// </summary>
internal sealed class ReverseProxyOptions
{
    public const string Section = "CloudProxy:ReverseProxy";

    [Setting("The proxy's own listener (-listen-address): host:port, :port or http://host:port.")]
    [Flag("-listen-address", Origin = "go-rev-proxy")]
    [Flag("--listen-address", Help = "same as -listen-address")]
    public string Listen { get; set; } = "127.0.0.1:8850";

    [Setting("Quick start (-proxy-url): one catch-all route to this back end, added to any configured routes.")]
    [Flag("-proxy-url", Origin = "go-rev-proxy")]
    [Flag("--proxy-url", Help = "same as -proxy-url")]
    public string? ProxyUrl { get; set; }

    [Setting("A JSON file holding YARP's ReverseProxy section; reloaded when it changes.")]
    [Flag("--proxy-config")]
    public string? ConfigFile { get; set; }

    [Setting("Redis for the cache and shared rate-limit partitions (-redis-address), host:port.")]
    [Flag("-redis-address", Origin = "go-rev-proxy")]
    [Flag("--redis-address", Help = "same as -redis-address")]
    public string? RedisAddress { get; set; }

    [Setting("Per-try timeout of the quick-start cluster's back-end call (YARP ActivityTimeout).")]
    public double BackendTimeoutSeconds { get; set; } = 100;

    [Setting("Also read and send Zipkin B3 trace headers (W3C traceparent is always honoured).")]
    public bool B3 { get; set; }

    [Setting("Request headers removed before the cache and the back end: ones that make many back ends (frameworks, IIS rewrite, Symfony, Rails) answer for another URL, host, port, scheme or method while the cache key does not contain them, the classic web-cache-poisoning probes. A comma list; empty strips nothing.")]
    public string StripRequestHeaders { get; set; } = "X-Original-URL,X-Rewrite-URL,X-Host,X-Forwarded-Port,X-Forwarded-Scheme,X-HTTP-Method-Override";

    public ProxyCacheOptions Cache { get; set; } = new();

    public ProxyRateLimitOptions RateLimit { get; set; } = new();

    public ProxyBackpressureOptions Backpressure { get; set; } = new();

    public ProxyJitterOptions Jitter { get; set; } = new();

    public ProxyPurgeOptions Purge { get; set; } = new();
}

internal sealed class ProxyPurgeOptions
{
    [Setting("Bearer token of the purge endpoint and the PURGE method; empty = purging off (those requests pass on).")]
    public string Token { get; set; } = string.Empty;

    [Setting("Path of the purge endpoint on the proxy's listener (taken before routing, so no route shadows it).")]
    public string Path { get; set; } = "/.cloudproxy/purge";

    [Setting("How often each replica reads the shared purge log (Redis or the Dapr state store).")]
    public double SyncIntervalMs { get; set; } = 1000;

    [Setting("Records the shared log holds; older ones fold into one purge of everything up to them.")]
    public int MaxRecords { get; set; } = 10_000;

    public bool Enabled => !string.IsNullOrEmpty(Token);
}

internal sealed class ProxyCacheOptions
{
    [Setting("Serve cacheable GET/HEAD responses from the proxy cache (Cache-Control rules as an HTTP cache).")]
    public bool Enabled { get; set; } = true;

    [Setting("Freshness for cacheable responses that state none (no max-age/s-maxage/Expires); 0 = do not cache those.")]
    public double DefaultTtlSeconds { get; set; }

    [Setting("Upper bound on any entry's freshness, whatever the back end says.")]
    public double MaxTtlSeconds { get; set; } = 3600;

    [Setting("Largest body stored; bigger responses stream through uncached.")]
    public long MaxEntryBytes { get; set; } = 1024 * 1024;

    [Setting("Cache responses to requests carrying Authorization (off: RFC 9111 §3.5 asks for explicit permission).")]
    public bool AllowAuthorization { get; set; }

    [Setting("Cache responses carrying Set-Cookie (off: one client's cookie would reach every client).")]
    public bool AllowSetCookie { get; set; }

    [Setting("Look up and store responses to requests carrying Cookie (off: the answer may be that client's own).")]
    public bool AllowCookie { get; set; }

    [Setting("Total bytes of the in-memory store (embedded mode).")]
    public long MemoryMaxBytes { get; set; } = 64L * 1024 * 1024;

    [Setting("A store call slower than this counts as an outage: the request passes through.")]
    public double StoreTimeoutMs { get; set; } = 250;

    [Setting("After a store failure, skip the store for this long instead of paying the timeout on every request.")]
    public double OutageBackoffSeconds { get; set; } = 5;

    [Setting("How long a request waits for another request fetching the same key (stampede protection).")]
    public double CoalesceWaitSeconds { get; set; } = 10;

    [Setting("RFC 5861 stale-while-revalidate for responses that state none: serve stale this long while one refresh runs in the background; 0 = off.")]
    public double StaleWhileRevalidateSeconds { get; set; }

    [Setting("RFC 5861 stale-if-error for responses that state none: serve stale this long when the back end fails or answers 5xx; 0 = off.")]
    public double StaleIfErrorSeconds { get; set; }

    [Setting("How long an entry with a validator (ETag, Last-Modified) is kept past its freshness for conditional requests.")]
    public double KeepSeconds { get; set; } = 600;

    [Setting("Upper bound on stale-while-revalidate and stale-if-error, whatever the back end or a route says.")]
    public double MaxStaleSeconds { get; set; } = 86_400;

    [Setting("Background refreshes (stale-while-revalidate) running at once; a stale hit past this serves stale without starting another.")]
    public int RefreshConcurrency { get; set; } = 16;
}

internal enum RateLimitAlgorithm
{
    TokenBucket = 0,
    SlidingWindow = 1,
}

internal enum RateLimitPartitionBy
{
    /// <summary>The client address; X-Forwarded-For is honoured only when the peer is a trusted proxy.</summary>
    ClientIp = 0,

    /// <summary>The value of <see cref="ProxyRateLimitOptions.Header"/> (an API key); requests without it fall back to the client address.</summary>
    Header = 1,
}

internal sealed class ProxyRateLimitOptions
{
    [Setting("Requests per minute per client and route (-requests-per-minute); 0 = off.")]
    [Flag("-requests-per-minute", Origin = "go-rev-proxy")]
    [Flag("--requests-per-minute", Help = "same as -requests-per-minute")]
    public int RequestsPerMinute { get; set; }

    [Setting("TokenBucket or SlidingWindow: how RequestsPerMinute is counted.")]
    public RateLimitAlgorithm Algorithm { get; set; } = RateLimitAlgorithm.TokenBucket;

    [Setting("Token bucket size (the burst a client may send at once); 0 = RequestsPerMinute.")]
    public int Burst { get; set; }

    [Setting("What one limit is counted per: ClientIp or Header (the value of Header).")]
    public RateLimitPartitionBy PartitionBy { get; set; } = RateLimitPartitionBy.ClientIp;

    [Setting("Request header whose value partitions the limit when PartitionBy is Header.")]
    public string Header { get; set; } = "X-Api-Key";

    [Setting("Addresses or CIDR ranges of proxies whose X-Forwarded-For is believed.")]
    public IList<string> TrustedProxies { get; } = [];

    [Setting("Whether a response served from the cache uses the client's quota.")]
    public bool CountCacheHits { get; set; }

    [Setting("Send the IETF draft's RateLimit-Policy and RateLimit fields on limited routes' responses.")]
    public bool Headers { get; set; } = true;
}

internal sealed class ProxyBackpressureOptions
{
    [Setting("AIMD back-pressure: shrink the concurrency window when the PromQL queries say the back end is in trouble.")]
    public bool Enabled { get; set; }

    [Setting("Smallest concurrency window the back-pressure may shrink to.")]
    public int MinWindow { get; set; } = 1;

    [Setting("Largest concurrency window the back-pressure may grow to.")]
    public int MaxWindow { get; set; } = 100;

    [Setting("Window at start; 0 = MaxWindow (a freshly started proxy has no evidence the back end is in trouble).")]
    public int InitialWindow { get; set; }

    [Setting("Factor the window is multiplied by when a signal fires.")]
    public double DecreaseFactor { get; set; } = 0.5;

    [Setting("How long a request above the window waits for a slot before it is refused.")]
    public double QueueTimeoutMs { get; set; } = 100;

    [Setting("429 or 503 for a refused request.")]
    public int RefusalStatusCode { get; set; } = 503;

    [Setting("Retry-After of a request shed because the window is full.")]
    public int RetryAfterSeconds { get; set; } = 1;

    [Setting("Prometheus or Thanos base URL the queries run against (…/api/v1/query is appended).")]
    public string? PrometheusUrl { get; set; }

    [Setting("How often the PromQL queries are evaluated, in seconds.")]
    public double EvaluationIntervalSeconds { get; set; } = 15;

    [Setting("Timeout of one PromQL query, in seconds; a query that fails counts as healthy for that round.")]
    public double QueryTimeoutSeconds { get; set; } = 5;

    [Setting("The PromQL queries (Name, Query, WarningThreshold, EmergencyThreshold) whose results drive the window.")]
    public IList<BackpressureQueryOptions> Queries { get; } = [];

    [Setting("Treat the back end's own 429 and 503 as a congestion signal.")]
    public bool BackendStatusSignal { get; set; } = true;

    [Setting("A back-end call slower than this is a congestion signal; 0 = off.")]
    public double LatencyThresholdMs { get; set; }

    [Setting("Where the window goes while a query cannot be answered (Prometheus down, an error, a value query with an empty result) instead of freezing at its last state; 0 = halfway between MinWindow and MaxWindow.")]
    public int FailSafeWindow { get; set; }

    [Setting("How fast it goes there: the time a walk across the whole MinWindow..MaxWindow range takes.")]
    public double FailSafeSeconds { get; set; } = 60;

    [Setting("Request header naming the request's class (critical, default, sheddable); empty = only routes set it.")]
    public string CriticalityHeader { get; set; } = "X-Request-Criticality";

    /// <summary>The fail-safe window with the default applied.</summary>
    public int EffectiveFailSafeWindow => FailSafeWindow > 0 ? FailSafeWindow : MinWindow + ((MaxWindow - MinWindow) / 2);
}

internal sealed class BackpressureQueryOptions
{
    [Setting("Label value in the query metrics (bounded, unlike the query text).")]
    public string? Name { get; set; }

    [Setting("PromQL expression, run every EvaluationIntervalSeconds.")]
    public string Query { get; set; } = string.Empty;

    [Setting("With EmergencyThreshold: a value query. Without both: a condition query (fires when non-empty).")]
    public double? WarningThreshold { get; set; }

    [Setting("With WarningThreshold: the value at which the allowance reaches 0 (1 below warning, linear between).")]
    public double? EmergencyThreshold { get; set; }
}

internal sealed class ProxyJitterOptions
{
    [Setting("Upper bound of the uniform random delay before a request goes to the back end; 0 = off.")]
    public double MaxDelayMs { get; set; }

    [Setting("Requests with this header set to CriticalValue skip the delay.")]
    public string CriticalHeader { get; set; } = "X-Request-Criticality";

    [Setting("Value of CriticalHeader that marks a request critical (never delayed or shed first).")]
    public string CriticalValue { get; set; } = "critical";
}

namespace CloudProxy.ReverseProxy;

/// <summary>
/// Section <c>CloudProxy:ReverseProxy</c>. YARP's own <c>Routes</c> and <c>Clusters</c> live in the same section
/// (or in the file named by <see cref="ConfigFile"/>); per-route overrides of the settings below are YARP route
/// <c>Metadata</c> keys, listed in <see cref="ProxyRouteSettings"/>.
/// </summary>
internal sealed class ReverseProxyOptions
{
    public const string Section = "CloudProxy:ReverseProxy";

    /// <summary>The proxy's own listener (<c>-listen-address</c>): host:port, :port or http://host:port.</summary>
    public string Listen { get; set; } = "127.0.0.1:8850";

    /// <summary>Quick start (<c>-proxy-url</c>): one catch-all route to this back end, added to any configured routes.</summary>
    public string? ProxyUrl { get; set; }

    /// <summary>A JSON file holding YARP's <c>ReverseProxy</c> section; reloaded when it changes.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>Redis for the cache and shared rate-limit partitions (<c>-redis-address</c>), host:port.</summary>
    public string? RedisAddress { get; set; }

    /// <summary>Per-try timeout of the quick-start cluster's back-end call (YARP ActivityTimeout).</summary>
    public double BackendTimeoutSeconds { get; set; } = 100;

    /// <summary>Also read and send Zipkin B3 trace headers (W3C traceparent is always honoured).</summary>
    public bool B3 { get; set; }

    /// <summary>
    /// Request headers removed before the cache and the back end: ones that make many back ends (frameworks,
    /// IIS rewrite, Symfony, Rails) answer for another URL, host, port, scheme or method while the cache key
    /// does not contain them, the classic web-cache-poisoning probes. A comma list; empty strips nothing.
    /// </summary>
    public string StripRequestHeaders { get; set; } = "X-Original-URL,X-Rewrite-URL,X-Host,X-Forwarded-Port,X-Forwarded-Scheme,X-HTTP-Method-Override";

    public ProxyCacheOptions Cache { get; set; } = new();

    public ProxyRateLimitOptions RateLimit { get; set; } = new();

    public ProxyBackpressureOptions Backpressure { get; set; } = new();

    public ProxyJitterOptions Jitter { get; set; } = new();

    public ProxyPurgeOptions Purge { get; set; } = new();
}

internal sealed class ProxyPurgeOptions
{
    /// <summary>Bearer token of the purge endpoint and the PURGE method; empty = purging off (those requests pass on).</summary>
    public string Token { get; set; } = string.Empty;

    /// <summary>Path of the purge endpoint on the proxy's listener (taken before routing, so no route shadows it).</summary>
    public string Path { get; set; } = "/.cloudproxy/purge";

    /// <summary>How often each replica reads the shared purge log (Redis or the Dapr state store).</summary>
    public double SyncIntervalMs { get; set; } = 1000;

    /// <summary>Records the shared log holds; older ones fold into one purge of everything up to them.</summary>
    public int MaxRecords { get; set; } = 10_000;

    public bool Enabled => !string.IsNullOrEmpty(Token);
}

internal sealed class ProxyCacheOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Freshness for cacheable responses that state none (no max-age/s-maxage/Expires); 0 = do not cache those.</summary>
    public double DefaultTtlSeconds { get; set; }

    /// <summary>Upper bound on any entry's freshness, whatever the back end says.</summary>
    public double MaxTtlSeconds { get; set; } = 3600;

    /// <summary>Largest body stored; bigger responses stream through uncached.</summary>
    public long MaxEntryBytes { get; set; } = 1024 * 1024;

    /// <summary>Cache responses to requests carrying Authorization (off: RFC 9111 §3.5 asks for explicit permission).</summary>
    public bool AllowAuthorization { get; set; }

    /// <summary>Cache responses carrying Set-Cookie (off: one client's cookie would reach every client).</summary>
    public bool AllowSetCookie { get; set; }

    /// <summary>Look up and store responses to requests carrying Cookie (off: the answer may be that client's own).</summary>
    public bool AllowCookie { get; set; }

    /// <summary>Total bytes of the in-memory store (embedded mode).</summary>
    public long MemoryMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>A store call slower than this counts as an outage: the request passes through.</summary>
    public double StoreTimeoutMs { get; set; } = 250;

    /// <summary>After a store failure, skip the store for this long instead of paying the timeout on every request.</summary>
    public double OutageBackoffSeconds { get; set; } = 5;

    /// <summary>How long a request waits for another request fetching the same key (stampede protection).</summary>
    public double CoalesceWaitSeconds { get; set; } = 10;

    /// <summary>RFC 5861 stale-while-revalidate for responses that state none: serve stale this long while one refresh runs in the background; 0 = off.</summary>
    public double StaleWhileRevalidateSeconds { get; set; }

    /// <summary>RFC 5861 stale-if-error for responses that state none: serve stale this long when the back end fails or answers 5xx; 0 = off.</summary>
    public double StaleIfErrorSeconds { get; set; }

    /// <summary>How long an entry with a validator (ETag, Last-Modified) is kept past its freshness for conditional requests.</summary>
    public double KeepSeconds { get; set; } = 600;

    /// <summary>Upper bound on stale-while-revalidate and stale-if-error, whatever the back end or a route says.</summary>
    public double MaxStaleSeconds { get; set; } = 86_400;

    /// <summary>Background refreshes (stale-while-revalidate) running at once; a stale hit past this serves stale without starting another.</summary>
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
    /// <summary>Requests per minute per client and route (<c>-requests-per-minute</c>); 0 = off.</summary>
    public int RequestsPerMinute { get; set; }

    public RateLimitAlgorithm Algorithm { get; set; } = RateLimitAlgorithm.TokenBucket;

    /// <summary>Token bucket size (the burst a client may send at once); 0 = RequestsPerMinute.</summary>
    public int Burst { get; set; }

    public RateLimitPartitionBy PartitionBy { get; set; } = RateLimitPartitionBy.ClientIp;

    public string Header { get; set; } = "X-Api-Key";

    /// <summary>Addresses or CIDR ranges of proxies whose X-Forwarded-For is believed.</summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>Whether a response served from the cache uses the client's quota.</summary>
    public bool CountCacheHits { get; set; }

    /// <summary>Send the IETF draft's <c>RateLimit-Policy</c> and <c>RateLimit</c> fields on limited routes' responses.</summary>
    public bool Headers { get; set; } = true;
}

internal sealed class ProxyBackpressureOptions
{
    public bool Enabled { get; set; }

    public int MinWindow { get; set; } = 1;

    public int MaxWindow { get; set; } = 100;

    /// <summary>Window at start; 0 = MaxWindow (a freshly started proxy has no evidence the back end is in trouble).</summary>
    public int InitialWindow { get; set; }

    /// <summary>Factor the window is multiplied by when a signal fires.</summary>
    public double DecreaseFactor { get; set; } = 0.5;

    /// <summary>How long a request above the window waits for a slot before it is refused.</summary>
    public double QueueTimeoutMs { get; set; } = 100;

    /// <summary>429 or 503 for a refused request.</summary>
    public int RefusalStatusCode { get; set; } = 503;

    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Prometheus or Thanos base URL the queries run against (…/api/v1/query is appended).</summary>
    public string? PrometheusUrl { get; set; }

    public double EvaluationIntervalSeconds { get; set; } = 15;

    public double QueryTimeoutSeconds { get; set; } = 5;

    public IList<BackpressureQueryOptions> Queries { get; } = [];

    /// <summary>Treat the back end's own 429 and 503 as a congestion signal.</summary>
    public bool BackendStatusSignal { get; set; } = true;

    /// <summary>A back-end call slower than this is a congestion signal; 0 = off.</summary>
    public double LatencyThresholdMs { get; set; }

    /// <summary>
    /// Where the window goes while a query cannot be answered (Prometheus down, an error, a value query with an
    /// empty result) instead of freezing at its last state; 0 = halfway between MinWindow and MaxWindow.
    /// </summary>
    public int FailSafeWindow { get; set; }

    /// <summary>How fast it goes there: the time a walk across the whole MinWindow..MaxWindow range takes.</summary>
    public double FailSafeSeconds { get; set; } = 60;

    /// <summary>Request header naming the request's class (critical, default, sheddable); empty = only routes set it.</summary>
    public string CriticalityHeader { get; set; } = "X-Request-Criticality";

    /// <summary>The fail-safe window with the default applied.</summary>
    public int EffectiveFailSafeWindow => FailSafeWindow > 0 ? FailSafeWindow : MinWindow + ((MaxWindow - MinWindow) / 2);
}

internal sealed class BackpressureQueryOptions
{
    /// <summary>Label value in the query metrics (bounded, unlike the query text).</summary>
    public string? Name { get; set; }

    public string Query { get; set; } = string.Empty;

    /// <summary>With <see cref="EmergencyThreshold"/>: a value query. Without both: a condition query (fires when non-empty).</summary>
    public double? WarningThreshold { get; set; }

    public double? EmergencyThreshold { get; set; }
}

internal sealed class ProxyJitterOptions
{
    /// <summary>Upper bound of the uniform random delay before a request goes to the back end; 0 = off.</summary>
    public double MaxDelayMs { get; set; }

    /// <summary>Requests with this header set to <see cref="CriticalValue"/> skip the delay.</summary>
    public string CriticalHeader { get; set; } = "X-Request-Criticality";

    public string CriticalValue { get; set; } = "critical";
}

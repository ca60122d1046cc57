using System.Globalization;
using System.Text;

namespace CloudProxy.Host;

/// <summary>
/// The one table that maps command-line flags (ours and the seeds' legacy names) onto configuration keys,
/// and the text of <c>--help</c>. Everything else on the command line is standard .NET configuration
/// (<c>--CloudProxy:Outbox:Capacity=1000</c>), as are appsettings.json and <c>CloudProxy__…</c> variables.
/// </summary>
internal static class CommandLine
{
    public sealed record Flag(string Name, string Key, string Help, bool IsSwitch = false, string? Origin = null);

    public static readonly IReadOnlyList<Flag> Flags =
    [
        new("--services", "CloudProxy:Services", "all | comma list of services to run (default all)"),
        new("--transport", "CloudProxy:Transport:Kind", "embedded | dapr: how ingress and forwarders meet (default embedded)"),
        new("--http-host", "CloudProxy:Http:Host", "address to listen on (default 127.0.0.1; 0.0.0.0 in containers)", Origin: "statsd-http-proxy"),
        new("--http-port", "CloudProxy:Http:Port", "HTTP(S) port (default 8080)", Origin: "statsd-http-proxy"),
        new("--tls-cert", "CloudProxy:Http:TlsCert", "PEM certificate file: serve HTTPS (needs --tls-key)", Origin: "statsd-http-proxy"),
        new("--tls-key", "CloudProxy:Http:TlsKey", "PEM private key file for --tls-cert", Origin: "statsd-http-proxy"),
        new("--statsd-host", "CloudProxy:StatsD:Forwarder:Host", "StatsD daemon host (default 127.0.0.1)", Origin: "statsd-http-proxy"),
        new("--statsd-port", "CloudProxy:StatsD:Forwarder:Port", "StatsD daemon port (default 8125)", Origin: "statsd-http-proxy"),
        new("--jwt-secret", "CloudProxy:StatsD:Ingress:JwtSecret", "HMAC secret: require a JWT (X-JWT-Token or ?token=) on StatsD requests", Origin: "statsd-http-proxy"),
        new("--metric-prefix", "CloudProxy:StatsD:Ingress:MetricPrefix", "prefix added to every StatsD metric name", Origin: "statsd-http-proxy"),
        new("--statsd-client-rps", "CloudProxy:StatsD:Ingress:ClientRequestsPerSecond", "StatsD flood limit per client IP, requests/s (token bucket, 429 + Retry-After; default 0: off)"),
        new("--statsd-token-rps", "CloudProxy:StatsD:Ingress:TokenRequestsPerSecond", "StatsD flood limit per JWT, requests/s (needs --jwt-secret; default 0: off)"),
        new("--statsd-max-names-per-prefix", "CloudProxy:StatsD:Ingress:MaxNamesPerPrefix", "StatsD cardinality guard: distinct names per first key segment per window (default 0: off)"),
        new("--verbose", "CloudProxy:Verbose", "debug logging", IsSwitch: true, Origin: "statsd-http-proxy"),
        new("--data-dir", "CloudProxy:DataDirectory", "folder for every file the host writes: spool, state.db, Graphite spools (default ./data; /data in the image)"),
        new("--spool-path", "CloudProxy:Spool:Path", "folder of the durable logs: outbox, deferrals, quarantine (default <data-dir>/spool)"),
        new("--spool-max-bytes", "CloudProxy:Spool:MaxBytes", "bytes the log files may take on disk; past it new data is refused with 503 (default 1 GiB)"),
        new("--durability", "CloudProxy:Outbox:Durability", "durable (answer once on disk, default) | memory (answer at once; a crash loses the last few ms)"),
        new("--fsync", "CloudProxy:Spool:Fsync", "none | interval (default, every FsyncIntervalMilliseconds) | always: flushes to the device, for power loss"),
        new("--pubsub-name", "CloudProxy:Transport:PubSubName", "Dapr pub/sub component name (default pubsub)"),
        // sentry (issue 3): ogre's flags
        new("--httpproxy.port", "CloudProxy:Http:Port", "HTTP port (ogre wrote \":80\"; a leading colon is accepted)", Origin: "ogre"),
        new("--pusher.sentry.host", "CloudProxy:Sentry:Forwarder:Hosts", "comma list of upstream Sentry base URLs, with scheme", Origin: "ogre"),
        new("--pusher.sentry.projects", "CloudProxy:Sentry:Forwarder:Projects", "KEY1:KEY2,… one public key per host (KEY@PROJECT maps the project id too)", Origin: "ogre"),
        new("--pusher.queue_size", "CloudProxy:Outbox:Capacity", "accepted and ignored: the queue is on disk, bounded by --spool-max-bytes", Origin: "ogre"),
        new("--pusher.drop_threshold", "CloudProxy:Sentry:Ingress:DropThreshold", "accepted and ignored: CloudProxy spools instead of dropping", Origin: "ogre"),
        new("--pusher.pool.unstoppable_workers", "CloudProxy:Sentry:Forwarder:InitialConcurrency", "starting concurrency per upstream (AIMD adapts it)", Origin: "ogre"),
        new("--pusher.client.request_timeout", "CloudProxy:Sentry:Forwarder:RequestTimeout", "timeout of one upstream attempt (100ms, 2s, …)", Origin: "ogre"),
        new("--debug", "CloudProxy:Verbose", "debug logging (same as --verbose)", IsSwitch: true, Origin: "ogre"),

        // Graphite gateway (issue 4): polymur-gateway's flags; POLYMUR_GW_<FLAG> environment variables too.
        new("-listen-addr", "CloudProxy:Http:Host", "gateway listen address", Origin: "polymur-gateway"),
        new("-listen-http-port", "CloudProxy:Http:Port", "gateway HTTP port", Origin: "polymur-gateway"),
        new("-listen-https-port", "CloudProxy:Http:Port", "gateway HTTPS port (with -cert and -key; one listener)", Origin: "polymur-gateway"),
        new("-cert", "CloudProxy:Http:TlsCert", "PEM TLS certificate", Origin: "polymur-gateway"),
        new("-key", "CloudProxy:Http:TlsKey", "PEM TLS key", Origin: "polymur-gateway"),
        new("-destinations", "CloudProxy:Graphite:Forwarder:Destinations", "comma list of carbon host:port[:instance]", Origin: "polymur-gateway"),
        new("-distribution", "CloudProxy:Graphite:Forwarder:Distribution", "broadcast | carbon_ch (hash-route) | fnv1a_ch", Origin: "polymur-gateway"),
        new("-key-prefix", "CloudProxy:Graphite:Gateway:KeyPrefix", "prefix metrics with the API key's name", IsSwitch: true, Origin: "polymur-gateway"),
        new("-dev-mode", "CloudProxy:Graphite:Gateway:DevMode", "accept the API key 123 (never in production)", IsSwitch: true, Origin: "polymur-gateway"),
        new("-incoming-queue-cap", "CloudProxy:Outbox:Capacity", "accepted and ignored: the queue is on disk, bounded by --spool-max-bytes", Origin: "polymur-gateway"),
        new("-outgoing-queue-cap", "CloudProxy:Graphite:Forwarder:QueuePoints", "points held in memory per destination", Origin: "polymur-gateway"),
        new("-api-addr", "CloudProxy:Graphite:Gateway:AdminAddress", "admin API ip:port (needs an AdminToken)", Origin: "polymur-gateway"),
        // reverse proxy (issue 5): go-rev-proxy's single-dash flags, and the same with two dashes
        new("-proxy-url", "CloudProxy:ReverseProxy:ProxyUrl", "reverse proxy quick start: one catch-all route to this back end", Origin: "go-rev-proxy"),
        new("--proxy-url", "CloudProxy:ReverseProxy:ProxyUrl", "same as -proxy-url"),
        new("-listen-address", "CloudProxy:ReverseProxy:Listen", "reverse proxy's own listener, host:port (default 127.0.0.1:8850)", Origin: "go-rev-proxy"),
        new("--listen-address", "CloudProxy:ReverseProxy:Listen", "same as -listen-address"),
        new("-redis-address", "CloudProxy:ReverseProxy:RedisAddress", "Redis host:port for the proxy cache and shared rate limits", Origin: "go-rev-proxy"),
        new("--redis-address", "CloudProxy:ReverseProxy:RedisAddress", "same as -redis-address"),
        new("-requests-per-minute", "CloudProxy:ReverseProxy:RateLimit:RequestsPerMinute", "per-client, per-route rate limit (default 0: off)", Origin: "go-rev-proxy"),
        new("--requests-per-minute", "CloudProxy:ReverseProxy:RateLimit:RequestsPerMinute", "same as -requests-per-minute"),
        new("--proxy-config", "CloudProxy:ReverseProxy:ConfigFile", "JSON file with YARP's ReverseProxy section (Routes, Clusters), reloaded on change"),
    ];

    /// <summary>
    /// A seed's environment variables (envy style: <paramref name="prefix"/> + the flag name upper-cased,
    /// dashes as underscores) mapped onto the same keys as its flags; flags given later override them.
    /// </summary>
    public static Dictionary<string, string?> FromEnvironment(string prefix, string origin)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var flag in Flags.Where(f => f.Origin == origin))
        {
            var name = prefix + flag.Name.TrimStart('-').Replace('-', '_').ToUpperInvariant();
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                values[flag.Key] = value;
            }
        }

        return values;
    }

    /// <summary>Rewrites legacy switches (<c>--verbose</c>) into key=value form and maps flag names onto keys.</summary>
    public static string[] Normalize(string[] args, out Dictionary<string, string> switchMappings)
    {
        ArgumentNullException.ThrowIfNull(args);
        switchMappings = Flags.ToDictionary(f => f.Name, f => f.Key, StringComparer.OrdinalIgnoreCase);
        var result = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var flag = Flags.FirstOrDefault(f => f.IsSwitch && string.Equals(f.Name, arg, StringComparison.OrdinalIgnoreCase));
            if (flag is not null)
            {
                var next = i + 1 < args.Length ? args[i + 1] : null;
                if (next is not null && bool.TryParse(next, out _))
                {
                    result.Add($"{arg}={next}");
                    i++;
                }
                else
                {
                    result.Add($"{arg}=true");
                }

                continue;
            }

            // sentry (issue 3): ogre's --httpproxy.port is a Go listen address (":80", "0.0.0.0:80"); keep the port.
            if (arg.StartsWith("--httpproxy.port", StringComparison.OrdinalIgnoreCase))
            {
                var inline = arg.IndexOf('=', StringComparison.Ordinal);
                var value = inline >= 0 ? arg[(inline + 1)..] : i + 1 < args.Length ? args[++i] : string.Empty;
                result.Add("--httpproxy.port=" + value[(value.LastIndexOf(':') + 1)..]);
                continue;
            }

            result.Add(arg);
        }

        return [.. result];
    }

    /// <summary>
    /// How to name a setting in a message: the flag the user gave for it (any alias), else its main flag, then
    /// the key, e.g. <c>-api-addr, CloudProxy:Graphite:Gateway:AdminAddress</c>; only the key when no flag maps to it.
    /// </summary>
    public static string NameOf(string key, string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var flags = Flags.Where(f => string.Equals(f.Key, key, StringComparison.OrdinalIgnoreCase)).ToList();
        var given = flags.FirstOrDefault(f => args.Any(a => string.Equals(a.Split('=', 2)[0], f.Name, StringComparison.OrdinalIgnoreCase)));
        var flag = given ?? flags.FirstOrDefault();
        return flag is null ? key : $"{flag.Name}, {key}";
    }

    public static bool Wants(string[] args, params string[] names) =>
        args.Any(a => names.Contains(a, StringComparer.OrdinalIgnoreCase));

    public static string HelpText(string version)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"cloudproxy {version}: telemetry edge proxies (StatsD over HTTP, Sentry buffering proxy, Graphite gateway, reverse proxy)");
        text.AppendLine();
        text.AppendLine("Usage: cloudproxy [options]");
        text.AppendLine();
        text.AppendLine("Options:");
        foreach (var flag in Flags)
        {
            var origin = flag.Origin is null ? string.Empty : $" [alias from {flag.Origin}]";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {flag.Name,-20} {flag.Help}{origin}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  {string.Empty,-20} = {flag.Key}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--urls",-20} ASP.NET Core listen URLs (overrides --http-host/--http-port)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--version",-20} print the version and exit");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--help, -h",-20} print this help and exit");
        text.AppendLine();
        text.AppendLine("Services: all, statsd-ingress, statsd-forwarder, sentry-ingress, sentry-forwarder, graphite-gateway, graphite-forwarder, reverse-proxy");
        text.AppendLine();
        text.AppendLine("Any setting can also be given as --Section:Key=value, in appsettings.json, or as an environment");
        text.AppendLine("variable CloudProxy__Section__Key. Settings by section:");
        text.AppendLine("  CloudProxy:Outbox     Durability (Durable|Memory), MaxBytes (memory cache), BatchSize, LingerMilliseconds,");
        text.AppendLine("                        DrainTimeoutSeconds, MaxBackoffSeconds");
        text.AppendLine("  CloudProxy:Spool      Path, MaxBytes, SegmentBytes, Fsync (None|Interval|Always), FsyncIntervalMilliseconds,");
        text.AppendLine("                        ReserveShare, QuarantineMaxBytes");
        text.AppendLine("  CloudProxy:Deferral   RetryDelaysSeconds (1,5,30,120), BatchSize");
        text.AppendLine("  CloudProxy:Health     RefusalWindowSeconds, PublishFailureGraceSeconds, MaxMemoryShare");
        text.AppendLine("  CloudProxy            DataDirectory (--data-dir): every file's default location");
        text.AppendLine("  CloudProxy:Transport  Kind, PubSubName, BulkPublish, BulkPublishMaxBytes, BulkSubscribeMaxMessages, BulkSubscribeMaxAwaitMs,");
        text.AppendLine("                        MaxDeliveryBytes, PublishTimeout, StateStoreName");
        text.AppendLine("  CloudProxy:Http       Host, Port, TlsCert, TlsKey");
        text.AppendLine("  CloudProxy:StatsD     Topic; Ingress: MetricPrefix, JwtSecret, InvalidKeys (Reject|Sanitize), AllowedOrigins,");
        text.AppendLine("                        MaxBatchMetrics, MaxBodyBytes, DogStatsDTags, ClientRequestsPerSecond, ClientBurst,");
        text.AppendLine("                        TokenRequestsPerSecond, TokenBurst, MaxNamesPerPrefix, MaxPrefixes, MaxNamesPerToken,");
        text.AppendLine("                        CardinalityWindowSeconds; Forwarder: Host, Port, Protocol (Udp|Tcp), MaxDatagramBytes");
        text.AppendLine("  CloudProxy:Sentry     Topic; Ingress: AllowedKeys, AllowedProjects, MaxEventBytes, MaxEnvelopeBytes, MaxAttachmentBytes,");
        text.AppendLine("                        KeyRequestsPerSecond, ProjectRequestsPerSecond, RateLimitPollSeconds, OutcomeReports (client reports of");
        text.AppendLine("                        rate-limited refusals, default true), OutcomeFlushSeconds; Forwarder: Upstreams (Name, Url,");
        text.AppendLine("                        Keys, Projects), Hosts, Projects, RequestTimeout, MaxRetries, Initial/Min/MaxConcurrency, LatencyRiseFactor,");
        text.AppendLine("                        Compress (gzip bodies to the upstreams, default true); Scrub (before sending upstream, all off by");
        text.AppendLine("                        default): Enabled, IpAddresses, Cookies, AuthHeaders, Passwords, CreditCards, Fields (key names)");
        text.AppendLine("  CloudProxy:Graphite   Topic; Gateway: KeyPrefix, DevMode, MaxBodyBytes, MaxDecompressedBytes, MaxNameLength,");
        text.AppendLine("                        MaxFutureSeconds, MaxAgeSeconds, TrustedProxies, PlaintextAddress, PlaintextPointsPerSecond,");
        text.AppendLine("                        PlaintextBurst, AdminAddress, AdminToken,");
        text.AppendLine("                        KeyRefreshSeconds, KeysStateKey, RecentBadLines, MaxKeyLabels; Forwarder: Destinations,");
        text.AppendLine("                        Distribution, ReplicationFactor, QueuePoints, SpoolDirectory, SpoolMaxBytes,");
        text.AppendLine("                        ReplayPointsPerSecond, ConnectTimeoutSeconds, MaxBackoffSeconds, ResendWindowBytes, RoutesFile,");
        text.AppendLine("                        AggregationRulesFile, AggregationMaxIntervals, AggregationForwardInputs");
        text.AppendLine("  CloudProxy:State      Path (embedded state store: API keys)");
        text.AppendLine("  cloudproxy keys list|create|regen|delete|set-quota|clear-quota …   manage Graphite API keys (see `cloudproxy keys`)");
        text.AppendLine("  cloudproxy graphite-route-test --rules FILE < lines   where each line would go (as carbon-c-relay -t)");
        text.AppendLine("  CloudProxy:ReverseProxy  Listen, ProxyUrl, ConfigFile, RedisAddress, BackendTimeoutSeconds, B3, Routes, Clusters (YARP);");
        text.AppendLine("                        Cache: Enabled, DefaultTtlSeconds, MaxTtlSeconds, MaxEntryBytes, AllowAuthorization, AllowSetCookie, MemoryMaxBytes;");
        text.AppendLine("                        RateLimit: RequestsPerMinute, Burst, Algorithm, PartitionBy, Header, TrustedProxies, CountCacheHits;");
        text.AppendLine("                        Backpressure: Enabled, MinWindow, MaxWindow, PrometheusUrl, Queries, ...; Jitter: MaxDelayMs, CriticalHeader");
        text.AppendLine("  OTEL_EXPORTER_OTLP_ENDPOINT  export traces over OTLP when set");
        return text.ToString();
    }
}

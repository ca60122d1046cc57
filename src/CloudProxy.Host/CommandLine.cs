using System.Globalization;
using System.Text;

namespace CloudProxy.Host;

/// <summary>
/// The one table that maps command-line flags (ours and the seeds' legacy names) onto configuration keys,
/// and the text of <c>--help</c>. Everything else on the command line is standard .NET configuration
/// (<c>--CloudProxy:Outbox:Capacity=1000</c>), as are appsettings.json and <c>CloudProxy__…</c> variables.
/// </summary>
public static class CommandLine
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
        new("--verbose", "CloudProxy:Verbose", "debug logging", IsSwitch: true, Origin: "statsd-http-proxy"),
        new("--spool-path", "CloudProxy:Spool:Path", "SQLite spool file (default data/spool.db)"),
        new("--spool-max-bytes", "CloudProxy:Spool:MaxBytes", "spool size after which new data is refused (default 1 GiB)"),
        new("--outbox-capacity", "CloudProxy:Outbox:Capacity", "envelopes held in memory before spilling to the spool (default 100000)"),
        new("--pubsub-name", "CloudProxy:Transport:PubSubName", "Dapr pub/sub component name (default pubsub)"),
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

            result.Add(arg);
        }

        return [.. result];
    }

    public static bool Wants(string[] args, params string[] names) =>
        args.Any(a => names.Contains(a, StringComparer.OrdinalIgnoreCase));

    public static string HelpText(string version)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"cloudproxy {version}: telemetry edge proxies (StatsD over HTTP; Sentry, Graphite and reverse proxy to come)");
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
        text.AppendLine("Services: all, statsd-ingress, statsd-forwarder, reverse-proxy (sentry-*, graphite-*: later releases)");
        text.AppendLine();
        text.AppendLine("Any setting can also be given as --Section:Key=value, in appsettings.json, or as an environment");
        text.AppendLine("variable CloudProxy__Section__Key. Settings by section:");
        text.AppendLine("  CloudProxy:Outbox     Capacity, MaxBytes, BatchSize, DrainTimeoutSeconds, MaxBackoffSeconds");
        text.AppendLine("  CloudProxy:Spool      Enabled, Path, MaxBytes");
        text.AppendLine("  CloudProxy:Transport  Kind, PubSubName, BulkPublish, BulkSubscribeMaxMessages, BulkSubscribeMaxAwaitMs, StateStoreName");
        text.AppendLine("  CloudProxy:Http       Host, Port, TlsCert, TlsKey");
        text.AppendLine("  CloudProxy:StatsD     Topic; Ingress: MetricPrefix, JwtSecret, InvalidKeys (Reject|Sanitize), AllowedOrigins,");
        text.AppendLine("                        MaxBatchMetrics, MaxBodyBytes, DogStatsDTags; Forwarder: Host, Port, Protocol (Udp|Tcp), MaxDatagramBytes");
        text.AppendLine("  CloudProxy:ReverseProxy  Listen, ProxyUrl, ConfigFile, RedisAddress, BackendTimeoutSeconds, B3, Routes, Clusters (YARP);");
        text.AppendLine("                        Cache: Enabled, DefaultTtlSeconds, MaxTtlSeconds, MaxEntryBytes, AllowAuthorization, AllowSetCookie, MemoryMaxBytes;");
        text.AppendLine("                        RateLimit: RequestsPerMinute, Burst, Algorithm, PartitionBy, Header, TrustedProxies, CountCacheHits;");
        text.AppendLine("                        Backpressure: Enabled, MinWindow, MaxWindow, PrometheusUrl, Queries, ...; Jitter: MaxDelayMs, CriticalHeader");
        text.AppendLine("  OTEL_EXPORTER_OTLP_ENDPOINT  export traces over OTLP when set");
        return text.ToString();
    }
}

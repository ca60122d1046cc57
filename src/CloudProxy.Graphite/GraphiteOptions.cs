using CloudProxy.Core.Options;

[assembly: SeedEnvironment("polymur-gateway", "POLYMUR_GW_")]
[assembly: SettingSection(CloudProxy.Graphite.GraphiteOptions.Section, typeof(CloudProxy.Graphite.GraphiteOptions))]

namespace CloudProxy.Graphite;

/// <summary>How the forwarder spreads points over its destinations.</summary>
public enum GraphiteDistribution
{
    /// <summary>Every point to every destination (polymur's default).</summary>
    Broadcast = 0,

    /// <summary>carbon's ConsistentHashRing (md5); polymur's <c>hash-route</c> is an alias.</summary>
    CarbonCh = 1,

    /// <summary>carbon-c-relay's fnv1a_ch ring.</summary>
    Fnv1aCh = 2,
}

/// <summary>Section <c>CloudProxy:Graphite</c>. The Host maps polymur-gateway's flags onto these keys.</summary>
internal sealed class GraphiteOptions
{
    public const string Section = "CloudProxy:Graphite";

    [Setting("Pub/sub topic the gateway publishes to and the forwarder subscribes to.")]
    public string Topic { get; set; } = "graphite";

    public GraphiteGatewayOptions Gateway { get; set; } = new();

    public GraphiteForwarderOptions Forwarder { get; set; } = new();
}

/// <summary>Section <c>CloudProxy:Graphite:Gateway</c> (service <c>graphite-gateway</c>).</summary>
internal sealed class GraphiteGatewayOptions
{
    [Setting("Prefix every metric with the API key's name (a key may override it).")]
    [Flag("-key-prefix", Origin = "polymur-gateway")]
    public bool KeyPrefix { get; set; }

    [Setting("Accept the key 123 (named dev) as polymur-gateway does. Never in production.")]
    [Flag("-dev-mode", Origin = "polymur-gateway")]
    public bool DevMode { get; set; }

    [Setting("Largest request body as sent (compressed), in bytes.")]
    public long MaxBodyBytes { get; set; } = 16L * 1024 * 1024;

    [Setting("Largest body after decompression; past it the request is a 413 (a decompression bomb stops here).")]
    public long MaxDecompressedBytes { get; set; } = 128L * 1024 * 1024;

    [Setting("Longest metric name accepted, in bytes.")]
    public int MaxNameLength { get; set; } = 512;

    [Setting("Timestamps further than this in the future are bad lines.")]
    public int MaxFutureSeconds { get; set; } = 3600;

    [Setting("Timestamps older than this are bad lines (default ten years: backfills are fine, 1970 is not).")]
    public long MaxAgeSeconds { get; set; } = 10L * 365 * 24 * 3600;

    [Setting("Addresses of reverse proxies whose X-Forwarded-For is believed (for logs). Empty: none.")]
    public IList<string> TrustedProxies { get; } = [];

    [Setting("Plaintext carbon line listener, ip:port (port 0: any free port), e.g. 127.0.0.1:2003. Empty (the default): off, so the gateway never fights a local carbon-cache for 2003.")]
    public string PlaintextAddress { get; set; } = string.Empty;

    [Setting("Quota of the plaintext listener as a whole (it has no API key), in points per second; 0 (the default): none. Over it, connections are not read until the bucket allows their points (TCP back-pressure).")]
    public double PlaintextPointsPerSecond { get; set; }

    [Setting("Burst of the plaintext listener's quota in points; 0: one second's worth.")]
    public double PlaintextBurst { get; set; }

    [Setting("The admin API listener, ip:port; empty turns it off.")]
    [Flag("-api-addr", Origin = "polymur-gateway")]
    public string AdminAddress { get; set; } = "127.0.0.1:8842";

    [Setting("Bearer token the admin API requires. Empty: the admin API does not start.")]
    public string AdminToken { get; set; } = string.Empty;

    [Setting("How often the key cache is reloaded from the state store.")]
    public double KeyRefreshSeconds { get; set; } = 30;

    [Setting("State store key holding the key document.")]
    public string KeysStateKey { get; set; } = "graphite-gateway-keys";

    [Setting("Bad lines kept per key for the admin API.")]
    public int RecentBadLines { get; set; } = 20;

    [Setting("Distinct key names that get their own metric label; the rest count under _other.")]
    public int MaxKeyLabels { get; set; } = 200;
}

/// <summary>Section <c>CloudProxy:Graphite:Forwarder</c> (service <c>graphite-forwarder</c>).</summary>
internal sealed class GraphiteForwarderOptions
{
    [Setting("Comma list of host:port[:instance] carbon line receivers.")]
    [Flag("-destinations", Origin = "polymur-gateway")]
    public string Destinations { get; set; } = string.Empty;

    /// <summary><see cref="Destinations"/> split on commas.</summary>
    public IReadOnlyList<string> DestinationList() =>
        Destinations.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Setting("broadcast, carbon_ch (or hash-route), fnv1a_ch.")]
    [Flag("-distribution", Origin = "polymur-gateway")]
    public string Distribution { get; set; } = "broadcast";

    [Setting("Destinations each point goes to with a hash distribution.")]
    public int ReplicationFactor { get; set; } = 1;

    [Setting("Points held in memory per destination before the spool takes them.")]
    [Flag("-outgoing-queue-cap", Origin = "polymur-gateway")]
    public int QueuePoints { get; set; } = 1_000_000;

    [Setting("Folder of the per-destination spools (one SQLite file each). Empty (the default): graphite-spool in the data directory.")]
    public string SpoolDirectory { get; set; } = string.Empty;

    [Setting("Bytes each destination's spool may hold.")]
    public long SpoolMaxBytes { get; set; } = 1024L * 1024 * 1024;

    [Setting("Points per second replayed from a spool once its destination is back.")]
    public int ReplayPointsPerSecond { get; set; } = 200_000;

    [Setting("Seconds a connection to a destination may take to open before it counts as down.")]
    public double ConnectTimeoutSeconds { get; set; } = 5;

    [Setting("Longest wait between reconnection attempts to a destination that is down, in seconds.")]
    public double MaxBackoffSeconds { get; set; } = 10;

    [Setting("Recently written bytes kept per connection and written again after the connection fails: TCP has no acknowledgement a sender can see, so what sat in socket buffers when carbon went away would be lost. Repeats are harmless (carbon stores one value per timestamp).")]
    public int ResendWindowBytes { get; set; } = 16 * 1024 * 1024;

    [Setting("A routes file (carbon-c-relay's cluster/match/rewrite syntax, see the README): named destination groups, match, rewrite and blackhole rules. When set, its clusters are the destinations and Destinations, Distribution and ReplicationFactor must stay unset.")]
    public string RoutesFile { get; set; } = string.Empty;

    [Setting("carbon-aggregator's aggregation-rules.conf (output (frequency) = method input), applied before routing. Empty: off.")]
    public string AggregationRulesFile { get; set; } = string.Empty;

    [Setting("carbon's MAX_AGGREGATION_INTERVALS: intervals kept (and re-emitted when late points arrive) before the current one.")]
    public int AggregationMaxIntervals { get; set; } = 5;

    [Setting("carbon's FORWARD_ALL: pass the input points on as well (except one named like its own aggregate).")]
    public bool AggregationForwardInputs { get; set; } = true;
}

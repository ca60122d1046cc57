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

    /// <summary>Pub/sub topic the gateway publishes to and the forwarder subscribes to.</summary>
    public string Topic { get; set; } = "graphite";

    public GraphiteGatewayOptions Gateway { get; set; } = new();

    public GraphiteForwarderOptions Forwarder { get; set; } = new();
}

/// <summary>Section <c>CloudProxy:Graphite:Gateway</c> (service <c>graphite-gateway</c>).</summary>
internal sealed class GraphiteGatewayOptions
{
    /// <summary><c>-key-prefix</c>: prefix every metric with the API key's name (a key may override it).</summary>
    public bool KeyPrefix { get; set; }

    /// <summary><c>-dev-mode</c>: accept the key <c>123</c> (named <c>dev</c>) as polymur-gateway does. Never in production.</summary>
    public bool DevMode { get; set; }

    /// <summary>Largest request body as sent (compressed), in bytes.</summary>
    public long MaxBodyBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Largest body after decompression; past it the request is a 413 (a decompression bomb stops here).</summary>
    public long MaxDecompressedBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Longest metric name accepted, in bytes.</summary>
    public int MaxNameLength { get; set; } = 512;

    /// <summary>Timestamps further than this in the future are bad lines.</summary>
    public int MaxFutureSeconds { get; set; } = 3600;

    /// <summary>Timestamps older than this are bad lines (default ten years: backfills are fine, 1970 is not).</summary>
    public long MaxAgeSeconds { get; set; } = 10L * 365 * 24 * 3600;

    /// <summary>Addresses of reverse proxies whose X-Forwarded-For is believed (for logs). Empty: none.</summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>
    /// Plaintext carbon line listener, <c>ip:port</c> (port 0: any free port), e.g. <c>127.0.0.1:2003</c>. Empty
    /// (the default): off, so the gateway never fights a local carbon-cache for 2003.
    /// </summary>
    public string PlaintextAddress { get; set; } = string.Empty;

    /// <summary>
    /// Quota of the plaintext listener as a whole (it has no API key), in points per second; 0 (the default):
    /// none. Over it, connections are not read until the bucket allows their points (TCP back-pressure).
    /// </summary>
    public double PlaintextPointsPerSecond { get; set; }

    /// <summary>Burst of the plaintext listener's quota in points; 0: one second's worth.</summary>
    public double PlaintextBurst { get; set; }

    /// <summary><c>-api-addr</c>: the admin API listener, <c>ip:port</c>; empty turns it off.</summary>
    public string AdminAddress { get; set; } = "127.0.0.1:8842";

    /// <summary>Bearer token the admin API requires. Empty: the admin API does not start.</summary>
    public string AdminToken { get; set; } = string.Empty;

    /// <summary>How often the key cache is reloaded from the state store.</summary>
    public double KeyRefreshSeconds { get; set; } = 30;

    /// <summary>State store key holding the key document.</summary>
    public string KeysStateKey { get; set; } = "graphite-gateway-keys";

    /// <summary>Bad lines kept per key for the admin API.</summary>
    public int RecentBadLines { get; set; } = 20;

    /// <summary>Distinct key names that get their own metric label; the rest count under <c>_other</c>.</summary>
    public int MaxKeyLabels { get; set; } = 200;
}

/// <summary>Section <c>CloudProxy:Graphite:Forwarder</c> (service <c>graphite-forwarder</c>).</summary>
internal sealed class GraphiteForwarderOptions
{
    /// <summary><c>-destinations</c>: comma list of <c>host:port[:instance]</c> carbon line receivers.</summary>
    public string Destinations { get; set; } = string.Empty;

    /// <summary><see cref="Destinations"/> split on commas.</summary>
    public IReadOnlyList<string> DestinationList() =>
        Destinations.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary><c>-distribution</c>: broadcast, carbon_ch (or hash-route), fnv1a_ch.</summary>
    public string Distribution { get; set; } = "broadcast";

    /// <summary>Destinations each point goes to with a hash distribution.</summary>
    public int ReplicationFactor { get; set; } = 1;

    /// <summary><c>-outgoing-queue-cap</c>: points held in memory per destination before the spool takes them.</summary>
    public int QueuePoints { get; set; } = 1_000_000;

    /// <summary>Folder of the per-destination spools (one SQLite file each). Empty (the default): <c>graphite-spool</c> in the data directory.</summary>
    public string SpoolDirectory { get; set; } = string.Empty;

    /// <summary>Bytes each destination's spool may hold.</summary>
    public long SpoolMaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Points per second replayed from a spool once its destination is back.</summary>
    public int ReplayPointsPerSecond { get; set; } = 200_000;

    public double ConnectTimeoutSeconds { get; set; } = 5;

    public double MaxBackoffSeconds { get; set; } = 10;

    /// <summary>
    /// Recently written bytes kept per connection and written again after the connection fails: TCP has no
    /// acknowledgement a sender can see, so what sat in socket buffers when carbon went away would be lost.
    /// Repeats are harmless (carbon stores one value per timestamp).
    /// </summary>
    public int ResendWindowBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// A routes file (carbon-c-relay's cluster/match/rewrite syntax, see the README): named destination groups,
    /// match, rewrite and blackhole rules. When set, its clusters are the destinations and
    /// <see cref="Destinations"/>, <see cref="Distribution"/> and <see cref="ReplicationFactor"/> must stay unset.
    /// </summary>
    public string RoutesFile { get; set; } = string.Empty;

    /// <summary>carbon-aggregator's aggregation-rules.conf (<c>output (frequency) = method input</c>), applied before routing. Empty: off.</summary>
    public string AggregationRulesFile { get; set; } = string.Empty;

    /// <summary>carbon's MAX_AGGREGATION_INTERVALS: intervals kept (and re-emitted when late points arrive) before the current one.</summary>
    public int AggregationMaxIntervals { get; set; } = 5;

    /// <summary>carbon's FORWARD_ALL: pass the input points on as well (except one named like its own aggregate).</summary>
    public bool AggregationForwardInputs { get; set; } = true;
}

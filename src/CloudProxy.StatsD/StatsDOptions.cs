namespace CloudProxy.StatsD;

/// <summary>What the ingress does with a key (or tag) that could inject StatsD syntax.</summary>
internal enum StatsDInvalidKeys
{
    /// <summary>Answer 400 and send nothing.</summary>
    Reject = 0,

    /// <summary>Clean it the way etsy statsd's <c>sanitizeKeyName</c> does, then send.</summary>
    Sanitize = 1,
}

internal enum StatsDForwarderProtocol
{
    Udp = 0,
    Tcp = 1,
}

/// <summary>Section <c>CloudProxy:StatsD</c>. The Host maps statsd-http-proxy's flags onto these keys.</summary>
internal sealed class StatsDOptions
{
    public const string Section = "CloudProxy:StatsD";

    /// <summary>Pub/sub topic the ingress publishes to and the forwarder subscribes to.</summary>
    public string Topic { get; set; } = "statsd";

    public StatsDIngressOptions Ingress { get; set; } = new();

    public StatsDForwarderOptions Forwarder { get; set; } = new();
}

/// <summary>Section <c>CloudProxy:StatsD:Ingress</c> (service <c>statsd-ingress</c>).</summary>
internal sealed class StatsDIngressOptions
{
    /// <summary><c>--metric-prefix</c>: prepended to every key; a dot is added when it lacks one.</summary>
    public string MetricPrefix { get; set; } = string.Empty;

    /// <summary><c>--jwt-secret</c>: HMAC secret of the X-JWT-Token; empty turns authentication off.</summary>
    public string JwtSecret { get; set; } = string.Empty;

    public StatsDInvalidKeys InvalidKeys { get; set; } = StatsDInvalidKeys.Reject;

    /// <summary>Origins a browser page may post from (<c>https://app.example.com</c>); empty (or <c>*</c>) allows any origin.</summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>Most metrics one <c>/batch</c> request may carry.</summary>
    public int MaxBatchMetrics { get; set; } = 10_000;

    /// <summary>Largest request body accepted, in bytes.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Accept DogStatsD tags (<c>|#a:b,c</c>). Off by default: etsy statsd counts such lines as bad.</summary>
    public bool DogStatsDTags { get; set; }

    /// <summary>Flood limit per client IP (the connection's address): requests a second, token bucket; 0 = off.</summary>
    public double ClientRequestsPerSecond { get; set; }

    /// <summary>Requests a client IP may send at once above its rate; 0 = the rate (at least 1).</summary>
    public double ClientBurst { get; set; }

    /// <summary>Flood limit per JWT (needs <c>JwtSecret</c>): requests a second, token bucket; 0 = off.</summary>
    public double TokenRequestsPerSecond { get; set; }

    /// <summary>Requests one token may send at once above its rate; 0 = the rate (at least 1).</summary>
    public double TokenBurst { get; set; }

    /// <summary>Cardinality guard: most distinct metric names per prefix (first dotted segment of the key) in a window; 0 = off.</summary>
    public int MaxNamesPerPrefix { get; set; }

    /// <summary>Cardinality guard: most distinct prefixes (first dotted segments) in a window; 0 = off.</summary>
    public int MaxPrefixes { get; set; }

    /// <summary>Cardinality guard: most distinct metric names one JWT may send in a window (needs <c>JwtSecret</c>); 0 = off.</summary>
    public int MaxNamesPerToken { get; set; }

    /// <summary>Length of the cardinality guard's window, in seconds: the distinct names are forgotten when it ends.</summary>
    public double CardinalityWindowSeconds { get; set; } = 3600;
}

/// <summary>Section <c>CloudProxy:StatsD:Forwarder</c> (service <c>statsd-forwarder</c>).</summary>
internal sealed class StatsDForwarderOptions
{
    /// <summary>Largest UDP payload over IPv4.</summary>
    public const int MaxUdpPayload = 65_507;

    /// <summary><c>--statsd-host</c>.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary><c>--statsd-port</c>.</summary>
    public int Port { get; set; } = 8125;

    public StatsDForwarderProtocol Protocol { get; set; } = StatsDForwarderProtocol.Udp;

    /// <summary>Largest datagram sent; 1432 = a 1500-byte MTU less the largest IPv4 header (60) and UDP (8).</summary>
    public int MaxDatagramBytes { get; set; } = 1432;

    /// <summary>
    /// UDP: how long after its send a datagram counts as delivered when no ICMP port unreachable came back; it
    /// must exceed the round trip to the daemon. Until then its envelope is kept, to send again if the daemon
    /// turns out to be down.
    /// </summary>
    public double UdpConfirmMilliseconds { get; set; } = 200;

    /// <summary>UDP: most payload bytes kept unconfirmed (past it the oldest count as delivered, unchecked).</summary>
    public long UdpWindowBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>While the daemon is unreachable, how often it is probed (an empty datagram; StatsD daemons ignore it).</summary>
    public double ProbeIntervalSeconds { get; set; } = 1;
}

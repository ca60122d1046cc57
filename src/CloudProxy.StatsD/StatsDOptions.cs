using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.StatsD.StatsDOptions.Section, typeof(CloudProxy.StatsD.StatsDOptions))]

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

    [Setting("Pub/sub topic the ingress publishes to and the forwarder subscribes to.")]
    public string Topic { get; set; } = "statsd";

    public StatsDIngressOptions Ingress { get; set; } = new();

    public StatsDForwarderOptions Forwarder { get; set; } = new();
}

/// <summary>Section <c>CloudProxy:StatsD:Ingress</c> (service <c>statsd-ingress</c>).</summary>
internal sealed class StatsDIngressOptions
{
    [Setting("Prepended to every key; a dot is added when it lacks one.")]
    [Flag("--metric-prefix", Origin = "statsd-http-proxy")]
    public string MetricPrefix { get; set; } = string.Empty;

    [Setting("HMAC secret of the X-JWT-Token; empty turns authentication off.")]
    [Flag("--jwt-secret", Origin = "statsd-http-proxy")]
    public string JwtSecret { get; set; } = string.Empty;

    [Setting("A key or tag that could inject StatsD syntax: Reject (400, nothing sent) or Sanitize (cleaned as etsy statsd's sanitizeKeyName does, then sent).")]
    public StatsDInvalidKeys InvalidKeys { get; set; } = StatsDInvalidKeys.Reject;

    [Setting("Origins a browser page may post from (https://app.example.com); empty (or *) allows any origin.")]
    public IList<string> AllowedOrigins { get; } = [];

    [Setting("Most metrics one /batch request may carry.")]
    public int MaxBatchMetrics { get; set; } = 10_000;

    [Setting("Largest request body accepted, in bytes.")]
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    [Setting("Accept DogStatsD tags (|#a:b,c). Off by default: etsy statsd counts such lines as bad.")]
    public bool DogStatsDTags { get; set; }

    [Setting("Flood limit per client IP (the connection's address): requests a second, token bucket; 0 = off.")]
    [Flag("--statsd-client-rps")]
    public double ClientRequestsPerSecond { get; set; }

    [Setting("Requests a client IP may send at once above its rate; 0 = the rate (at least 1).")]
    public double ClientBurst { get; set; }

    [Setting("Flood limit per JWT (needs JwtSecret): requests a second, token bucket; 0 = off.")]
    [Flag("--statsd-token-rps")]
    public double TokenRequestsPerSecond { get; set; }

    [Setting("Requests one token may send at once above its rate; 0 = the rate (at least 1).")]
    public double TokenBurst { get; set; }

    [Setting("Cardinality guard: most distinct metric names per prefix (first dotted segment of the key) in a window; 0 = off.")]
    [Flag("--statsd-max-names-per-prefix")]
    public int MaxNamesPerPrefix { get; set; }

    [Setting("Cardinality guard: most distinct prefixes (first dotted segments) in a window; 0 = off.")]
    public int MaxPrefixes { get; set; }

    [Setting("Cardinality guard: most distinct metric names one JWT may send in a window (needs JwtSecret); 0 = off.")]
    public int MaxNamesPerToken { get; set; }

    [Setting("Length of the cardinality guard's window, in seconds: the distinct names are forgotten when it ends.")]
    public double CardinalityWindowSeconds { get; set; } = 3600;
}

/// <summary>Section <c>CloudProxy:StatsD:Forwarder</c> (service <c>statsd-forwarder</c>).</summary>
internal sealed class StatsDForwarderOptions
{
    /// <summary>Largest UDP payload over IPv4.</summary>
    public const int MaxUdpPayload = 65_507;

    [Setting("StatsD daemon host name or address.")]
    [Flag("--statsd-host", Origin = "statsd-http-proxy")]
    public string Host { get; set; } = "127.0.0.1";

    [Setting("StatsD daemon port.")]
    [Flag("--statsd-port", Origin = "statsd-http-proxy")]
    public int Port { get; set; } = 8125;

    [Setting("How lines reach the daemon: Udp (datagrams of at most MaxDatagramBytes) or Tcp (one connection, newline-separated lines).")]
    public StatsDForwarderProtocol Protocol { get; set; } = StatsDForwarderProtocol.Udp;

    [Setting("Largest datagram sent; 1432 = a 1500-byte MTU less the largest IPv4 header (60) and UDP (8).")]
    public int MaxDatagramBytes { get; set; } = 1432;

    [Setting("UDP: how long after its send a datagram counts as delivered when no ICMP port unreachable came back; it must exceed the round trip to the daemon. Until then its envelope is kept, to send again if the daemon turns out to be down.")]
    public double UdpConfirmMilliseconds { get; set; } = 200;

    [Setting("UDP: most payload bytes kept unconfirmed (past it the oldest count as delivered, unchecked).")]
    public long UdpWindowBytes { get; set; } = 4L * 1024 * 1024;

    [Setting("While the daemon is unreachable, how often it is probed (an empty datagram; StatsD daemons ignore it).")]
    public double ProbeIntervalSeconds { get; set; } = 1;
}

namespace CloudProxy.Sentry;

/// <summary>Section <c>CloudProxy:Sentry</c>. The Host maps ogre's flags onto these keys.</summary>
internal sealed class SentryOptions
{
    public const string Section = "CloudProxy:Sentry";

    /// <summary>Pub/sub topic the ingress publishes to and the forwarder subscribes to.</summary>
    public string Topic { get; set; } = "sentry";

    public SentryIngressOptions Ingress { get; set; } = new();

    public SentryForwarderOptions Forwarder { get; set; } = new();

    public SentryScrubOptions Scrub { get; set; } = new();
}

/// <summary>
/// Section <c>CloudProxy:Sentry:Scrub</c>: opt-in data scrubbing applied by the <c>sentry-forwarder</c> before
/// anything is sent upstream (the spool keeps envelopes as received). Everything off by default: nothing is
/// scrubbed unless <see cref="Enabled"/> and at least one rule are on.
/// </summary>
internal sealed class SentryScrubOptions
{
    /// <summary>Master switch; the rules below apply only when it is on.</summary>
    public bool Enabled { get; set; }

    /// <summary><c>user.ip_address</c>, <c>request.env.REMOTE_ADDR</c>, IPv4/IPv6 literals in strings; and X-Forwarded-For is not sent.</summary>
    public bool IpAddresses { get; set; }

    /// <summary><c>request.cookies</c> and the <c>Cookie</c> / <c>Set-Cookie</c> request headers.</summary>
    public bool Cookies { get; set; }

    /// <summary><c>Authorization</c>, <c>Proxy-Authorization</c>, <c>X-Api-Key</c> and other credential headers in <c>request.headers</c>.</summary>
    public bool AuthHeaders { get; set; }

    /// <summary>Values under password-like keys (Relay's <c>@password</c> key patterns) and bearer tokens in strings.</summary>
    public bool Passwords { get; set; }

    /// <summary>Luhn-valid 13–19 digit numbers (spaces or dashes allowed between digits).</summary>
    public bool CreditCards { get; set; }

    /// <summary>More key names (case-insensitive, matched as substrings like Relay's <c>sensitiveFields</c>) whose values are replaced.</summary>
    public IList<string> Fields { get; } = [];
}

/// <summary>Section <c>CloudProxy:Sentry:Ingress</c> (service <c>sentry-ingress</c>).</summary>
internal sealed class SentryIngressOptions
{
    /// <summary>Public keys (DSN user part) accepted; empty accepts any well-formed key.</summary>
    public IList<string> AllowedKeys { get; } = [];

    /// <summary>Numeric project ids accepted; empty accepts any.</summary>
    public IList<string> AllowedProjects { get; } = [];

    /// <summary>Largest event (store body, security report, event/transaction item), decompressed. Sentry: 1 MiB.</summary>
    public long MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest envelope, decompressed. Sentry: 100 MiB.</summary>
    public long MaxEnvelopeBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Largest minidump or attachment upload, decompressed. Sentry: 100 MiB.</summary>
    public long MaxAttachmentBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Optional quota: requests per second one public key may send (0 = off). Over it: 429.</summary>
    public double KeyRequestsPerSecond { get; set; }

    /// <summary>Optional quota: requests per second one project may send (0 = off). Over it: 429.</summary>
    public double ProjectRequestsPerSecond { get; set; }

    /// <summary>
    /// ogre's <c>--pusher.drop_threshold</c> (how long ogre waited for queue room before dropping). Accepted
    /// for compatibility and ignored: CloudProxy never drops, it spools, and refuses with 503 only when full.
    /// </summary>
    public string? DropThreshold { get; set; }

    /// <summary>How often a <c>sentry-ingress</c> without an in-process forwarder reads the shared rate limits.</summary>
    public double RateLimitPollSeconds { get; set; } = 1;

    /// <summary>
    /// Which other <c>/api/…</c> requests are passed, unbuffered, to the first upstream (auth, allow-lists and
    /// quotas checked first): <see cref="SentryPassthroughMode.Sdk"/> by default.
    /// </summary>
    public SentryPassthroughMode Passthrough { get; set; } = SentryPassthroughMode.Sdk;

    /// <summary>
    /// Report what this ingress refuses under a rate limit (an upstream's, mirrored, or its own quota) to the
    /// upstreams as <c>client_report</c> items (<c>rate_limited_events</c>), batched per key and project, as
    /// Relay in proxy mode does; so the upstream's usage stats show it. Default on.
    /// </summary>
    public bool OutcomeReports { get; set; } = true;

    /// <summary>How often the batched outcomes are sent (seconds).</summary>
    public double OutcomeFlushSeconds { get; set; } = 30;
}

/// <summary>What the pass-through route forwards besides the buffered ingestion routes.</summary>
internal enum SentryPassthroughMode
{
    /// <summary>Nothing: every other <c>/api/…</c> path is a 404.</summary>
    Off = 0,

    /// <summary>SDK endpoints of a project, <c>/api/{project id}/…</c> (Unreal crash reports, user feedback…), and <c>/api/embed/…</c>.</summary>
    Sdk = 1,

    /// <summary>
    /// Also everything else under <c>/api/</c>, which is the upstream's web API (<c>/api/0/…</c>, with the
    /// client's own <c>Authorization: Bearer</c>): anyone who can reach this proxy can then call that API.
    /// </summary>
    All = 2,
}

/// <summary>Section <c>CloudProxy:Sentry:Forwarder</c> (service <c>sentry-forwarder</c>).</summary>
internal sealed class SentryForwarderOptions
{
    /// <summary>The upstream Sentry instances; every envelope goes to each of them.</summary>
    public IList<SentryUpstreamOptions> Upstreams { get; } = [];

    /// <summary>ogre's <c>--pusher.sentry.host</c>: comma list of upstream base URLs, added after <see cref="Upstreams"/>.</summary>
    public string? Hosts { get; set; }

    /// <summary>
    /// ogre's <c>--pusher.sentry.projects</c>: <c>KEY1:KEY2,KEY3:KEY4</c>, the public key of one project in each
    /// of the <see cref="Hosts"/>, in host order. Extension: <c>KEY@PROJECT</c> also maps the project id.
    /// </summary>
    public string? Projects { get; set; }

    /// <summary>Per-attempt timeout (<c>--pusher.client.request_timeout</c>): Go (<c>100ms</c>, <c>2s</c>) or .NET (<c>00:00:02</c>) form.</summary>
    public string RequestTimeout { get; set; } = "10s";

    /// <summary>Retries of one send on transport errors and 5xx (with exponential backoff and jitter); never for 429.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Concurrency per upstream at start (ogre's <c>--pusher.pool.unstoppable_workers</c>).</summary>
    public int InitialConcurrency { get; set; } = 4;

    public int MinConcurrency { get; set; } = 1;

    public int MaxConcurrency { get; set; } = 64;

    /// <summary>
    /// Send every body to the upstreams gzip-compressed (<c>Content-Encoding: gzip</c>), as the SDKs do; Sentry
    /// decodes it on every endpoint. Default on; false sends the decompressed body as the ingress stored it.
    /// </summary>
    public bool Compress { get; set; } = true;

    /// <summary>Recent latency above this multiple of the long-run latency counts as an overload signal.</summary>
    public double LatencyRiseFactor { get; set; } = 2.0;
}

/// <summary>One upstream Sentry.</summary>
internal sealed class SentryUpstreamOptions
{
    /// <summary>Label in metrics and in the requeue header; defaults to the upstream's position (0, 1, …).</summary>
    public string? Name { get; set; }

    /// <summary>Base URL, e.g. <c>https://sentry.example.com</c> (a path prefix is kept).</summary>
    public string Url { get; set; } = string.Empty;

    /// <summary>Incoming public key → this upstream's public key. Keys not listed are sent unchanged.</summary>
    public IDictionary<string, string> Keys { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Incoming project id → this upstream's project id. Ids not listed are sent unchanged.</summary>
    public IDictionary<string, string> Projects { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

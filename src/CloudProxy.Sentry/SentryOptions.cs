using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Sentry.SentryOptions.Section, typeof(CloudProxy.Sentry.SentryOptions))]

namespace CloudProxy.Sentry;

/// <summary>Section <c>CloudProxy:Sentry</c>. The Host maps ogre's flags onto these keys.</summary>
internal sealed class SentryOptions
{
    public const string Section = "CloudProxy:Sentry";

    [Setting("Pub/sub topic the ingress publishes to and the forwarder subscribes to.")]
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
    [Setting("Master switch; the rules below apply only when it is on.")]
    public bool Enabled { get; set; }

    [Setting("user.ip_address, request.env.REMOTE_ADDR, IPv4/IPv6 literals in strings; and X-Forwarded-For is not sent.")]
    public bool IpAddresses { get; set; }

    [Setting("request.cookies and the Cookie / Set-Cookie request headers.")]
    public bool Cookies { get; set; }

    [Setting("Authorization, Proxy-Authorization, X-Api-Key and other credential headers in request.headers.")]
    public bool AuthHeaders { get; set; }

    [Setting("Values under password-like keys (Relay's @password key patterns) and bearer tokens in strings.")]
    public bool Passwords { get; set; }

    [Setting("Luhn-valid 13–19 digit numbers (spaces or dashes allowed between digits).")]
    public bool CreditCards { get; set; }

    [Setting("More key names (case-insensitive, matched as substrings like Relay's sensitiveFields) whose values are replaced.")]
    public IList<string> Fields { get; } = [];
}

/// <summary>Section <c>CloudProxy:Sentry:Ingress</c> (service <c>sentry-ingress</c>).</summary>
internal sealed class SentryIngressOptions
{
    [Setting("Public keys (DSN user part) accepted; empty accepts any well-formed key.")]
    public IList<string> AllowedKeys { get; } = [];

    [Setting("Numeric project ids accepted; empty accepts any.")]
    public IList<string> AllowedProjects { get; } = [];

    [Setting("Largest event (store body, security report, event/transaction item), decompressed. Sentry: 1 MiB.")]
    public long MaxEventBytes { get; set; } = 1024 * 1024;

    [Setting("Largest envelope, decompressed. Sentry: 100 MiB.")]
    public long MaxEnvelopeBytes { get; set; } = 100L * 1024 * 1024;

    [Setting("Largest minidump or attachment upload, decompressed. Sentry: 100 MiB.")]
    public long MaxAttachmentBytes { get; set; } = 100L * 1024 * 1024;

    [Setting("Optional quota: requests per second one public key may send (0 = off). Over it: 429.")]
    public double KeyRequestsPerSecond { get; set; }

    [Setting("Optional quota: requests per second one project may send (0 = off). Over it: 429.")]
    public double ProjectRequestsPerSecond { get; set; }

    [Setting("ogre's --pusher.drop_threshold (how long ogre waited for queue room before dropping). Accepted for compatibility and ignored: CloudProxy never drops, it spools, and refuses with 503 only when full.")]
    [Flag("--pusher.drop_threshold", Origin = "ogre")]
    public string? DropThreshold { get; set; }

    [Setting("How often a sentry-ingress without an in-process forwarder reads the shared rate limits.")]
    public double RateLimitPollSeconds { get; set; } = 1;

    [Setting("Which other /api/… requests are passed, unbuffered, to the first upstream (auth, allow-lists and quotas checked first): Sdk by default.")]
    public SentryPassthroughMode Passthrough { get; set; } = SentryPassthroughMode.Sdk;

    [Setting("Report what this ingress refuses under a rate limit (an upstream's, mirrored, or its own quota) to the upstreams as client_report items (rate_limited_events), batched per key and project, as Relay in proxy mode does; so the upstream's usage stats show it. Default on.")]
    public bool OutcomeReports { get; set; } = true;

    [Setting("How often the batched outcomes are sent (seconds).")]
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
    [Setting("The upstream Sentry instances; every envelope goes to each of them.")]
    public IList<SentryUpstreamOptions> Upstreams { get; } = [];

    [Setting("ogre's --pusher.sentry.host: comma list of upstream base URLs, added after Upstreams.")]
    [Flag("--pusher.sentry.host", Origin = "ogre")]
    public string? Hosts { get; set; }

    [Setting("ogre's --pusher.sentry.projects: KEY1:KEY2,KEY3:KEY4, the public key of one project in each of the Hosts, in host order. Extension: KEY@PROJECT also maps the project id.")]
    [Flag("--pusher.sentry.projects", Origin = "ogre")]
    public string? Projects { get; set; }

    [Setting("Per-attempt timeout (--pusher.client.request_timeout): Go (100ms, 2s) or .NET (00:00:02) form.")]
    [Flag("--pusher.client.request_timeout", Origin = "ogre")]
    public string RequestTimeout { get; set; } = "10s";

    [Setting("Retries of one send on transport errors and 5xx (with exponential backoff and jitter); never for 429.")]
    public int MaxRetries { get; set; } = 2;

    [Setting("Concurrency per upstream at start (ogre's --pusher.pool.unstoppable_workers).")]
    [Flag("--pusher.pool.unstoppable_workers", Origin = "ogre")]
    public int InitialConcurrency { get; set; } = 4;

    [Setting("Fewest requests in flight per upstream the AIMD limiter may fall to.")]
    public int MinConcurrency { get; set; } = 1;

    [Setting("Most requests in flight per upstream the AIMD limiter may rise to.")]
    public int MaxConcurrency { get; set; } = 64;

    [Setting("Send every body to the upstreams gzip-compressed (Content-Encoding: gzip), as the SDKs do; Sentry decodes it on every endpoint. Default on; false sends the decompressed body as the ingress stored it.")]
    public bool Compress { get; set; } = true;

    [Setting("Recent latency above this multiple of the long-run latency counts as an overload signal.")]
    public double LatencyRiseFactor { get; set; } = 2.0;
}

/// <summary>One upstream Sentry.</summary>
internal sealed class SentryUpstreamOptions
{
    [Setting("Label in metrics and in the requeue header; defaults to the upstream's position (0, 1, …).")]
    public string? Name { get; set; }

    [Setting("Base URL, e.g. https://sentry.example.com (a path prefix is kept).")]
    public string Url { get; set; } = string.Empty;

    [Setting("Incoming public key → this upstream's public key. Keys not listed are sent unchanged.")]
    public IDictionary<string, string> Keys { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    [Setting("Incoming project id → this upstream's project id. Ids not listed are sent unchanged.")]
    public IDictionary<string, string> Projects { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

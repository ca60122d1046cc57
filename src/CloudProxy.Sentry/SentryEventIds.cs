namespace CloudProxy.Sentry;

/// <summary>Every log event id of the Sentry module, in one place (range 4000–4999, see Core's LogEvents).</summary>
internal static class SentryEventIds
{
    public const int Refused = 4001;
    public const int OutboxFull = 4002;
    public const int UpstreamRateLimited = 4010;
    public const int UpstreamRejected = 4011;
    public const int UpstreamFailed = 4012;
    public const int UpstreamFailing = 4015;
    public const int UnknownKind = 4013;
    public const int RequeueFailed = 4014;
    public const int PassthroughFailed = 4020;
    public const int PassthroughRefused = 4021;
    public const int RateLimitSyncFailed = 4030;
}

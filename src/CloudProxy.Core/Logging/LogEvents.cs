namespace CloudProxy.Core;

/// <summary>Every log event id, in one registry. Ranges: Core 1000–1999, Transport.Dapr 2000–2999,
/// StatsD 3000–3999, Sentry 4000–4999, Graphite 5000–5999, ReverseProxy 6000–6999, Host 9000–9999.</summary>
public static class LogEvents
{
    public const int SpoolOpened = 1001;
    public const int PublishFailed = 1002;
    public const int PublisherRecovered = 1003;
    public const int DrainTimedOut = 1005;
    public const int NoHandler = 1007;
    public const int LogWriteFailed = 1010;
    public const int LogRecovered = 1011;
    public const int LogDamaged = 1012;
    public const int LogCorruptRecord = 1013;
    public const int LogCursorLost = 1014;
    public const int HandlerFailed = 1015;
    public const int Quarantined = 1016;
    public const int MemoryTrimmed = 1090;
}

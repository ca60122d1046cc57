namespace CloudProxy.Core;

/// <summary>
/// The registry of log event ids: <see cref="Ranges"/> says which module owns which block, Core's own ids
/// follow. Each module keeps its ids beside its code (<c>StatsDEventIds</c>, <c>SentryEventIds</c>,
/// <c>GraphiteEventIds</c>, <c>ReverseProxyEventIds</c>, <c>DaprLogEvents</c>), inside its block; a test
/// (LogEventIdTests) reads every <c>[LoggerMessage]</c> of every module and fails on an id used twice, an id
/// outside its module's block, or a message without an id.
/// </summary>
internal static class LogEvents
{
    /// <summary>The block of ids each assembly owns, first and last inclusive.</summary>
    public static IReadOnlyDictionary<string, (int First, int Last)> Ranges { get; } = new Dictionary<string, (int First, int Last)>(StringComparer.Ordinal)
    {
        ["CloudProxy.Core"] = (1000, 1999),
        ["CloudProxy.Transport.Dapr"] = (2000, 2999),
        ["CloudProxy.StatsD"] = (3000, 3999),
        ["CloudProxy.Sentry"] = (4000, 4999),
        ["CloudProxy.Graphite"] = (5000, 5999),
        ["CloudProxy.ReverseProxy"] = (6000, 6999),
        ["CloudProxy.Host"] = (9000, 9999),
    };

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

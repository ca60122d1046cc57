namespace CloudProxy.Sentry.Protocol;

/// <summary>Sentry's data categories (the names in <c>X-Sentry-Rate-Limits</c>), as bits.</summary>
[Flags]
internal enum SentryCategories
{
    None = 0,
    Default = 1 << 0,
    Error = 1 << 1,
    Transaction = 1 << 2,
    Security = 1 << 3,
    Attachment = 1 << 4,
    Session = 1 << 5,
    Profile = 1 << 6,
    Replay = 1 << 7,
    Monitor = 1 << 8,
    Span = 1 << 9,
    LogItem = 1 << 10,
    Feedback = 1 << 11,
    MetricBucket = 1 << 12,
    ProfileChunk = 1 << 13,

    /// <summary>Client reports and item types this version does not know: never rate limited (as in Relay).</summary>
    Internal = 1 << 14,

    /// <summary>A category name this version does not know; only an "all categories" limit covers it.</summary>
    Unknown = 1 << 15,

    TraceMetric = 1 << 16,
}

internal static class SentryCategoryNames
{
    private static readonly (string Name, SentryCategories Category)[] Names =
    [
        ("default", SentryCategories.Default), ("error", SentryCategories.Error), ("transaction", SentryCategories.Transaction),
        ("security", SentryCategories.Security), ("attachment", SentryCategories.Attachment), ("session", SentryCategories.Session),
        ("profile", SentryCategories.Profile), ("replay", SentryCategories.Replay), ("monitor", SentryCategories.Monitor),
        ("span", SentryCategories.Span), ("log_item", SentryCategories.LogItem), ("feedback", SentryCategories.Feedback),
        ("metric_bucket", SentryCategories.MetricBucket), ("profile_chunk", SentryCategories.ProfileChunk),
        ("internal", SentryCategories.Internal), ("trace_metric", SentryCategories.TraceMetric),
        // Relay counts log items in two categories (log_item, log_byte); a limit on either holds them.
        ("log_byte", SentryCategories.LogItem),
        // Attachments likewise (attachment bytes, attachment_item count).
        ("attachment_item", SentryCategories.Attachment),
    ];

    /// <summary>The Sentry name of one category bit (the first of its names), or null for Internal/None/several.</summary>
    public static string? NameOf(SentryCategories category)
    {
        if (category is SentryCategories.Internal or SentryCategories.None or SentryCategories.Unknown)
        {
            return null;
        }

        foreach (var (n, c) in Names)
        {
            if (c == category)
            {
                return n;
            }
        }

        return null;
    }

    /// <summary>The category of a rate-limit name; Unknown for names this version does not know.</summary>
    public static SentryCategories FromName(ReadOnlySpan<char> name)
    {
        foreach (var (n, c) in Names)
        {
            if (name.Equals(n, StringComparison.OrdinalIgnoreCase))
            {
                return c;
            }
        }

        return SentryCategories.Unknown;
    }

    /// <summary>
    /// The category that rate-limits an envelope item type, as Relay maps them: <c>Item::quantities</c> and
    /// <c>ItemType::from_str</c> in getsentry/relay relay-server/src/envelope/item.rs (commit
    /// d7fced5c285188d03e02655ecb27854ec9fd2855) and <c>Enforcement::retain_item</c> in
    /// relay-server/src/utils/rate_limits.rs (commit 00a5c2e4295dbbda5f8805573ef40b869a62f77f). Like Relay,
    /// <c>user_report</c> counts as feedback (<c>DataCategory::UserReportV2</c>, named "feedback"), log items
    /// under log_item/log_byte, and client reports and unknown future item types are never limited
    /// (<see cref="SentryCategories.Internal"/>). Where this proxy differs: <c>sessions</c> (aggregates) and
    /// <c>statsd</c>/<c>metric_buckets</c> are held under a session / metric_bucket limit as Sentry's SDKs hold
    /// them (Relay forwards those and limits them later, in processing), and profile chunks are not split by
    /// platform into profile_chunk / profile_chunk_ui.
    /// </summary>
    public static SentryCategories FromItemType(ReadOnlySpan<byte> type) => type switch
    {
        _ when type.SequenceEqual("event"u8) => SentryCategories.Error,
        _ when type.SequenceEqual("transaction"u8) => SentryCategories.Transaction,
        _ when type.SequenceEqual("security"u8) || type.SequenceEqual("raw_security"u8) => SentryCategories.Security,
        _ when type.SequenceEqual("unreal_report"u8) => SentryCategories.Error,
        _ when type.SequenceEqual("attachment"u8) => SentryCategories.Attachment,
        _ when type.SequenceEqual("session"u8) || type.SequenceEqual("sessions"u8) => SentryCategories.Session,
        _ when type.SequenceEqual("profile"u8) => SentryCategories.Profile,
        _ when type.SequenceEqual("profile_chunk"u8) || type.SequenceEqual("profile_chunk_ui"u8) => SentryCategories.ProfileChunk,
        _ when type.SequenceEqual("replay_event"u8) || type.SequenceEqual("replay_recording"u8) || type.SequenceEqual("replay_video"u8) => SentryCategories.Replay,
        _ when type.SequenceEqual("check_in"u8) => SentryCategories.Monitor,
        _ when type.SequenceEqual("span"u8) || type.SequenceEqual("otel_span"u8) => SentryCategories.Span,
        _ when type.SequenceEqual("log"u8) || type.SequenceEqual("otel_log"u8) => SentryCategories.LogItem,
        _ when type.SequenceEqual("feedback"u8) || type.SequenceEqual("user_report"u8) => SentryCategories.Feedback,
        _ when type.SequenceEqual("trace_metric"u8) => SentryCategories.TraceMetric,
        _ when type.SequenceEqual("statsd"u8) || type.SequenceEqual("metric_buckets"u8) => SentryCategories.MetricBucket,
        _ => SentryCategories.Internal,
    };

    /// <summary>
    /// Items Relay drops together with their envelope's event when the event is rate limited
    /// (<c>Item::requires_event</c>, relay-server/src/envelope/item.rs at d7fced5c…): this proxy holds them
    /// back together with it instead, so they reach the upstream with their event.
    /// </summary>
    public static bool RequiresEvent(ReadOnlySpan<byte> type) =>
        type.SequenceEqual("attachment"u8) || type.SequenceEqual("form_data"u8) || type.SequenceEqual("user_report"u8)
        || type.SequenceEqual("replay_event"u8) || type.SequenceEqual("profile"u8);

    /// <summary>The item types whose payload is the envelope's event (<c>Item::creates_event</c>, attachments aside).</summary>
    public static bool CreatesEvent(ReadOnlySpan<byte> type) =>
        type.SequenceEqual("event"u8) || type.SequenceEqual("transaction"u8) || type.SequenceEqual("security"u8)
        || type.SequenceEqual("raw_security"u8) || type.SequenceEqual("unreal_report"u8) || type.SequenceEqual("feedback"u8);
}

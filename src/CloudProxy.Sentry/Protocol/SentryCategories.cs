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

    /// <summary>Client reports: never rate limited (as in Relay).</summary>
    Internal = 1 << 14,

    /// <summary>A category name this version does not know; only an "all categories" limit covers it.</summary>
    Unknown = 1 << 15,
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
        ("internal", SentryCategories.Internal),
    ];

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

    /// <summary>The category of an envelope item type (Relay's <c>ItemType</c> → <c>DataCategory</c>).</summary>
    public static SentryCategories FromItemType(ReadOnlySpan<byte> type) => type switch
    {
        _ when type.SequenceEqual("event"u8) => SentryCategories.Error,
        _ when type.SequenceEqual("transaction"u8) => SentryCategories.Transaction,
        _ when type.SequenceEqual("security"u8) => SentryCategories.Security,
        _ when type.SequenceEqual("attachment"u8) => SentryCategories.Attachment,
        _ when type.SequenceEqual("session"u8) || type.SequenceEqual("sessions"u8) => SentryCategories.Session,
        _ when type.SequenceEqual("profile"u8) => SentryCategories.Profile,
        _ when type.SequenceEqual("profile_chunk"u8) => SentryCategories.ProfileChunk,
        _ when type.StartsWith("replay_"u8) => SentryCategories.Replay,
        _ when type.SequenceEqual("check_in"u8) => SentryCategories.Monitor,
        _ when type.SequenceEqual("span"u8) || type.SequenceEqual("otel_span"u8) => SentryCategories.Span,
        _ when type.SequenceEqual("log"u8) || type.SequenceEqual("otel_log"u8) => SentryCategories.LogItem,
        _ when type.SequenceEqual("feedback"u8) => SentryCategories.Feedback,
        _ when type.SequenceEqual("statsd"u8) || type.SequenceEqual("metric_buckets"u8) => SentryCategories.MetricBucket,
        _ when type.SequenceEqual("client_report"u8) => SentryCategories.Internal,
        _ => SentryCategories.Default,
    };
}

namespace CloudProxy.StatsD.Ingress;

/// <summary>The ingress routes; the <c>endpoint</c> label of the request counter.</summary>
internal enum StatsDIngressEndpoint
{
    Heartbeat = 0,
    Count = 1,
    Gauge = 2,
    Timing = 3,
    Set = 4,
    Batch = 5,
    Preflight = 6,
}

/// <summary>Why a request was refused; the <c>reason</c> label of the refusal counter.</summary>
internal enum StatsDRefusal
{
    InvalidKey = 0,
    InvalidValue = 1,
    MissingValue = 2,
    InvalidSampleRate = 3,
    InvalidTags = 4,
    TagsDisabled = 5,
    InvalidType = 6,
    MalformedLine = 7,
    MalformedBody = 8,
    EmptyBatch = 9,
    UnsupportedMediaType = 10,
    BodyTooLarge = 11,
    TooManyMetrics = 12,
    TokenMissing = 13,
    TokenInvalid = 14,
    OutboxFull = 15,
    FloodClient = 16,
    FloodToken = 17,
    TooManyNamesForPrefix = 18,
    TooManyPrefixes = 19,
    TooManyNamesForToken = 20,
}

/// <summary>
/// The explicit maps from the ingress enums to their label values and routes (never by position). A guard test
/// fails when an enum value has no entry; the label values are read by tests and dashboards: never rename one.
/// </summary>
internal static class StatsDIngressLabels
{
    /// <summary>The <c>endpoint</c> label of an ingress route.</summary>
    public static string Of(StatsDIngressEndpoint endpoint) => endpoint switch
    {
        StatsDIngressEndpoint.Heartbeat => "heartbeat",
        StatsDIngressEndpoint.Count => "count",
        StatsDIngressEndpoint.Gauge => "gauge",
        StatsDIngressEndpoint.Timing => "timing",
        StatsDIngressEndpoint.Set => "set",
        StatsDIngressEndpoint.Batch => "batch",
        StatsDIngressEndpoint.Preflight => "preflight",
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint, "no label for this StatsD endpoint"),
    };

    /// <summary>The route (<c>/count/{key}</c>…) and the <c>endpoint</c> label of a metric type's own route.</summary>
    public static StatsDIngressEndpoint EndpointOf(Protocol.StatsDMetricType type) => type switch
    {
        Protocol.StatsDMetricType.Count => StatsDIngressEndpoint.Count,
        Protocol.StatsDMetricType.Gauge => StatsDIngressEndpoint.Gauge,
        Protocol.StatsDMetricType.Timing => StatsDIngressEndpoint.Timing,
        Protocol.StatsDMetricType.Set => StatsDIngressEndpoint.Set,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no ingress route for this StatsD metric type"),
    };

    /// <summary>The <c>reason</c> label of a refusal (also the <c>code</c> a batch answer lists).</summary>
    public static string Of(StatsDRefusal reason) => reason switch
    {
        StatsDRefusal.InvalidKey => "invalid_key",
        StatsDRefusal.InvalidValue => "invalid_value",
        StatsDRefusal.MissingValue => "missing_value",
        StatsDRefusal.InvalidSampleRate => "invalid_sample_rate",
        StatsDRefusal.InvalidTags => "invalid_tags",
        StatsDRefusal.TagsDisabled => "tags_disabled",
        StatsDRefusal.InvalidType => "invalid_type",
        StatsDRefusal.MalformedLine => "malformed_line",
        StatsDRefusal.MalformedBody => "malformed_body",
        StatsDRefusal.EmptyBatch => "empty_batch",
        StatsDRefusal.UnsupportedMediaType => "unsupported_media_type",
        StatsDRefusal.BodyTooLarge => "body_too_large",
        StatsDRefusal.TooManyMetrics => "too_many_metrics",
        StatsDRefusal.TokenMissing => "token_missing",
        StatsDRefusal.TokenInvalid => "token_invalid",
        StatsDRefusal.OutboxFull => "outbox_full",
        StatsDRefusal.FloodClient => "flood_client",
        StatsDRefusal.FloodToken => "flood_token",
        StatsDRefusal.TooManyNamesForPrefix => "cardinality_prefix",
        StatsDRefusal.TooManyPrefixes => "cardinality_prefixes",
        StatsDRefusal.TooManyNamesForToken => "cardinality_token",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "no label for this StatsD refusal"),
    };
}

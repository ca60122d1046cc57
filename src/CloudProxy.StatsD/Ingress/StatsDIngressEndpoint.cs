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

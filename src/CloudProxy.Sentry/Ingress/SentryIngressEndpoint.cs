namespace CloudProxy.Sentry.Ingress;

/// <summary>The ingress routes; the <c>endpoint</c> label of the request counter.</summary>
internal enum SentryIngressEndpoint
{
    Envelope = 0,
    Store = 1,
    Security = 2,
    Minidump = 3,
    Attachment = 4,
    Passthrough = 5,
    Preflight = 6,
}

/// <summary>Why a request was refused; the <c>reason</c> label of the refusal counter.</summary>
internal enum SentryRefusal
{
    AuthMissing = 0,
    AuthMultiple = 1,
    AuthInvalid = 2,
    KeyNotAllowed = 3,
    ProjectNotAllowed = 4,
    InvalidProject = 5,
    UnsupportedEncoding = 6,
    CorruptBody = 7,
    BodyTooLarge = 8,
    EventTooLarge = 9,
    MalformedEnvelope = 10,
    MalformedEvent = 11,
    EmptyBody = 12,
    RateLimited = 13,
    QuotaExceeded = 14,
    OutboxFull = 15,
    Aborted = 16,
    NoUpstream = 17,
    InvalidPath = 18,
    NotFound = 19,
    PassthroughDisabled = 20,
}

using System.Collections.Frozen;
using CloudProxy.Sentry.Protocol;

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

/// <summary>Which size limit a route's decompressed body is held to.</summary>
internal enum SentryBodyLimit
{
    /// <summary><c>MaxEventBytes</c>.</summary>
    Event,

    /// <summary><c>MaxEnvelopeBytes</c>.</summary>
    Envelope,

    /// <summary><c>MaxAttachmentBytes</c>.</summary>
    Attachment,
}

/// <summary>What a route's body is, so what the ingress reads from it (event id, item categories, envelope dsn).</summary>
internal enum SentryPayload
{
    /// <summary>Nothing is read: the route's own <see cref="SentryEndpointInfo.Categories"/> apply.</summary>
    Opaque,

    /// <summary>An envelope: its header's event id and dsn, its items' categories.</summary>
    Envelope,

    /// <summary>A store event (JSON): its event id, error or transaction.</summary>
    StoreEvent,
}

/// <summary>How Sentry answers an accepted request on a route.</summary>
internal enum SentryReply
{
    /// <summary>200 <c>{"id":"…"}</c> (or <c>{}</c> without an id).</summary>
    EventId,

    /// <summary>200 with the event id as plain text.</summary>
    PlainId,

    /// <summary>201, empty.</summary>
    Created,
}

/// <summary>
/// Every rule of one ingress route in one place: its <c>endpoint</c> label, its paths under <c>/api</c>, the
/// envelope kind it is queued as (null: not buffered), its size limit, whether an empty body is refused, what
/// its body is, the rate-limit categories of an opaque body, how a rate-limited request is reported as an
/// outcome (<see cref="OutcomeCategory"/> counted once, and the body as an attachment when
/// <see cref="BodyIsAttachment"/>), whether the proxy mints an event id the client did not send, and the reply.
/// </summary>
internal sealed record SentryEndpointInfo(
    SentryIngressEndpoint Endpoint,
    string Label,
    (string Path, string Name)[] Routes,
    string? Kind,
    SentryBodyLimit Limit,
    bool RequiresBody,
    SentryPayload Payload,
    SentryCategories Categories,
    string? OutcomeCategory,
    bool BodyIsAttachment,
    bool MintsEventId,
    SentryReply Reply);

/// <summary>The explicit maps from the ingress enums to their rules and labels; guard tests fail when a value has no entry.</summary>
internal static class SentryIngressEndpoints
{
    /// <summary>One descriptor per endpoint. Labels are read by tests and dashboards: never rename one.</summary>
    public static readonly FrozenDictionary<SentryIngressEndpoint, SentryEndpointInfo> All = new SentryEndpointInfo[]
    {
        new(SentryIngressEndpoint.Envelope, "envelope", [("/{project}/envelope/", "envelope")], SentryEnvelopeHeaders.EnvelopeKind,
            SentryBodyLimit.Envelope, RequiresBody: true, SentryPayload.Envelope, SentryCategories.None, null, BodyIsAttachment: false,
            MintsEventId: false, SentryReply.EventId),
        new(SentryIngressEndpoint.Store, "store", [("/{project}/store/", "store"), ("/store/", "store-legacy")], SentryEnvelopeHeaders.StoreKind,
            SentryBodyLimit.Event, RequiresBody: true, SentryPayload.StoreEvent, SentryCategories.None, null, BodyIsAttachment: false,
            MintsEventId: true, SentryReply.EventId),
        new(SentryIngressEndpoint.Security, "security", [("/{project}/security/", "security"), ("/{project}/csp-report/", "csp-report")], SentryEnvelopeHeaders.SecurityKind,
            SentryBodyLimit.Event, RequiresBody: true, SentryPayload.Opaque, SentryCategories.Security, "security", BodyIsAttachment: false,
            MintsEventId: true, SentryReply.EventId),
        new(SentryIngressEndpoint.Minidump, "minidump", [("/{project}/minidump/", "minidump")], SentryEnvelopeHeaders.MinidumpKind,
            SentryBodyLimit.Attachment, RequiresBody: false, SentryPayload.Opaque, SentryCategories.Error, "error", BodyIsAttachment: true,
            MintsEventId: true, SentryReply.PlainId),
        new(SentryIngressEndpoint.Attachment, "attachment", [("/{project}/events/{id}/attachments/", "attachments")], SentryEnvelopeHeaders.AttachmentKind,
            SentryBodyLimit.Attachment, RequiresBody: false, SentryPayload.Opaque, SentryCategories.Attachment, null, BodyIsAttachment: true,
            MintsEventId: false, SentryReply.Created),

        // Not buffered: the catch-all passthrough and the CORS preflight have a label only.
        new(SentryIngressEndpoint.Passthrough, "passthrough", [], null, SentryBodyLimit.Event, RequiresBody: false, SentryPayload.Opaque,
            SentryCategories.None, null, BodyIsAttachment: false, MintsEventId: false, SentryReply.EventId),
        new(SentryIngressEndpoint.Preflight, "preflight", [], null, SentryBodyLimit.Event, RequiresBody: false, SentryPayload.Opaque,
            SentryCategories.None, null, BodyIsAttachment: false, MintsEventId: false, SentryReply.EventId),
    }.ToFrozenDictionary(i => i.Endpoint);

    /// <summary>The buffered endpoints (those with an envelope kind), in enum order.</summary>
    public static IReadOnlyList<SentryEndpointInfo> Buffered { get; } = [.. All.Values.Where(i => i.Kind is not null).OrderBy(i => i.Endpoint)];

    public static SentryEndpointInfo Of(SentryIngressEndpoint endpoint) => All[endpoint];

    /// <summary>The <c>endpoint</c> label of the request counter.</summary>
    public static string Label(SentryIngressEndpoint endpoint) => All[endpoint].Label;

    /// <summary>The <c>reason</c> label of a refusal.</summary>
    public static string Label(SentryRefusal reason) => reason switch
    {
        SentryRefusal.AuthMissing => "auth_missing",
        SentryRefusal.AuthMultiple => "auth_multiple",
        SentryRefusal.AuthInvalid => "auth_invalid",
        SentryRefusal.KeyNotAllowed => "key_not_allowed",
        SentryRefusal.ProjectNotAllowed => "project_not_allowed",
        SentryRefusal.InvalidProject => "invalid_project",
        SentryRefusal.UnsupportedEncoding => "unsupported_encoding",
        SentryRefusal.CorruptBody => "corrupt_body",
        SentryRefusal.BodyTooLarge => "body_too_large",
        SentryRefusal.EventTooLarge => "event_too_large",
        SentryRefusal.MalformedEnvelope => "malformed_envelope",
        SentryRefusal.MalformedEvent => "malformed_event",
        SentryRefusal.EmptyBody => "empty_body",
        SentryRefusal.RateLimited => "rate_limited",
        SentryRefusal.QuotaExceeded => "quota_exceeded",
        SentryRefusal.OutboxFull => "outbox_full",
        SentryRefusal.Aborted => "aborted",
        SentryRefusal.NoUpstream => "no_upstream",
        SentryRefusal.InvalidPath => "invalid_path",
        SentryRefusal.NotFound => "not_found",
        SentryRefusal.PassthroughDisabled => "passthrough_disabled",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "no label for this Sentry refusal"),
    };
}

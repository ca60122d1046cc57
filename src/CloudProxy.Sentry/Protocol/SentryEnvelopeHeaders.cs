namespace CloudProxy.Sentry.Protocol;

/// <summary>The envelope kinds the Sentry ingress writes and the header names it stores beside the payload.</summary>
internal static class SentryEnvelopeHeaders
{
    public const string EnvelopeKind = "sentry.envelope";
    public const string StoreKind = "sentry.store";
    public const string SecurityKind = "sentry.security";
    public const string MinidumpKind = "sentry.minidump";
    public const string AttachmentKind = "sentry.attachment";

    /// <summary>The request path as the SDK sent it (<c>/api/42/envelope/</c>); the forwarder maps the project in it.</summary>
    public const string Path = "path";

    /// <summary>The query string with its leading <c>?</c>, when there was one (may hold <c>sentry_key</c>).</summary>
    public const string Query = "query";

    public const string ContentType = "content-type";

    /// <summary>Which auth source held the key (<see cref="SentryAuthReader.NameOf"/>).</summary>
    public const string AuthSource = "auth";

    /// <summary>The X-Sentry-Auth or Authorization header as sent, for the forwarder to rewrite and pass on.</summary>
    public const string AuthValue = "auth-value";

    public const string Project = "project";

    public const string EventId = "event-id";

    /// <summary>The <see cref="SentryCategories"/> bits of the payload, decimal.</summary>
    public const string Categories = "categories";

    public const string UserAgent = "user-agent";

    public const string ForwardedFor = "x-forwarded-for";

    public const string Origin = "origin";

    public const string Referer = "referer";

    /// <summary>
    /// Only on a requeued copy: the upstreams (names, comma separated) that still need it, because the others
    /// already accepted it. Keeps delivery exactly once per upstream when one upstream is down.
    /// </summary>
    public const string Upstreams = "upstreams";
}

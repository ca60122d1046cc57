using System.Globalization;
using System.Text;
using System.Text.Json;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// Every answer the ingress writes goes through here, so status, reason text and counters stay together.
/// Success is Sentry's own: 200 <c>{"id":"…"}</c> (store, envelope), the plain id (minidump), 201 (attachment).
/// Errors are Relay's: JSON <c>{"detail":"…"}</c>, and the reason in <c>X-Sentry-Error</c> for browser SDKs.
/// CORS is Relay's: any origin, exposing the headers an SDK needs to back off.
/// </summary>
internal sealed class SentryReplies(SentryIngressMetrics metrics, TimeProvider time)
{
    /// <summary>Seconds a client should wait after a 503 (outbox and spool full).</summary>
    public const string RetryAfterSeconds = "5";

    public const string ExposedHeaders = "x-sentry-error, x-sentry-rate-limits, retry-after";

    public const string AllowedHeaders =
        "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, authentication, authorization, content-encoding, transfer-encoding, sentry-trace, baggage";

    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    // Reasons are read by people in logs and browser consoles: keep quotes and apostrophes readable.
    private static readonly JsonSerializerOptions DetailJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int StatusOf(SentryRefusal refusal) => refusal switch
    {
        SentryRefusal.AuthMissing or SentryRefusal.AuthMultiple or SentryRefusal.AuthInvalid => StatusCodes.Status401Unauthorized,
        SentryRefusal.KeyNotAllowed or SentryRefusal.ProjectNotAllowed => StatusCodes.Status403Forbidden,
        SentryRefusal.UnsupportedEncoding => StatusCodes.Status415UnsupportedMediaType,
        SentryRefusal.BodyTooLarge or SentryRefusal.EventTooLarge => StatusCodes.Status413PayloadTooLarge,
        SentryRefusal.RateLimited or SentryRefusal.QuotaExceeded => StatusCodes.Status429TooManyRequests,
        SentryRefusal.OutboxFull or SentryRefusal.NoUpstream => StatusCodes.Status503ServiceUnavailable,
        SentryRefusal.NotFound or SentryRefusal.PassthroughDisabled => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>CORS on every answer to a browser (a request with Origin).</summary>
    public static void ApplyCors(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.Headers.ContainsKey("Origin"))
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = "*";
            headers.AccessControlExposeHeaders = ExposedHeaders;
        }
    }

    /// <summary>OPTIONS on any ingress route: Relay's preflight answer.</summary>
    public Task PreflightAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ApplyCors(context);
        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST, PUT, OPTIONS";
        headers.AccessControlAllowHeaders = AllowedHeaders;
        headers.AccessControlMaxAge = "3600";
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
        metrics.Request(SentryIngressEndpoint.Preflight, StatusCodes.Status200OK);
        return Task.CompletedTask;
    }

    public Task EventIdAsync(HttpContext context, SentryIngressEndpoint endpoint, string? eventId)
    {
        ArgumentNullException.ThrowIfNull(context);
        metrics.Request(endpoint, StatusCodes.Status200OK);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        var body = eventId is null ? EmptyObject : Encoding.UTF8.GetBytes($"{{\"id\":\"{eventId}\"}}");
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public Task PlainIdAsync(HttpContext context, SentryIngressEndpoint endpoint, string eventId)
    {
        ArgumentNullException.ThrowIfNull(context);
        metrics.Request(endpoint, StatusCodes.Status200OK);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain; charset=utf-8";
        var body = Encoding.UTF8.GetBytes(eventId);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public Task CreatedAsync(HttpContext context, SentryIngressEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(context);
        metrics.Request(endpoint, StatusCodes.Status201Created);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    /// <summary>429 mirroring upstream limits: <c>Retry-After</c> and <c>X-Sentry-Rate-Limits</c> with the time left.</summary>
    public Task RateLimitedAsync(HttpContext context, SentryIngressEndpoint endpoint, IReadOnlyList<SentryRateLimit> limits)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(limits);
        var now = time.GetUtcNow();
        var headers = context.Response.Headers;
        headers.RetryAfter = limits.Max(l => l.SecondsLeft(now)).ToString(CultureInfo.InvariantCulture);
        headers["X-Sentry-Rate-Limits"] = string.Join(", ", limits.Select(l => l.ToHeaderEntry(now)));
        return RefuseAsync(context, endpoint, SentryRefusal.RateLimited, "Sentry dropped data due to a quota or internal rate limit");
    }

    public Task RefuseAsync(HttpContext context, SentryIngressEndpoint endpoint, SentryRefusal refusal, string reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        var status = StatusOf(refusal);
        metrics.Refusal(refusal);
        metrics.Request(endpoint, status);
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = status;
        if (refusal == SentryRefusal.OutboxFull)
        {
            response.Headers.RetryAfter = RetryAfterSeconds;
        }
        else if (refusal == SentryRefusal.QuotaExceeded)
        {
            response.Headers.RetryAfter = "1";
            response.Headers["X-Sentry-Rate-Limits"] = "1::key:cloudproxy_quota";
        }

        // Header values must be single-line ASCII; the reasons are ours, but keep it safe.
        response.Headers["X-Sentry-Error"] = new string([.. reason.Select(c => c is >= ' ' and < (char)127 ? c : ' ')]);
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["detail"] = reason }, DetailJson);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}

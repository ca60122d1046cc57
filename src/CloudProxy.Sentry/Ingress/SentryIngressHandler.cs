using System.Diagnostics;
using System.Globalization;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Outbox;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// The <c>sentry-ingress</c> request handlers: validate (auth, allow-list, size while decompressing, framing),
/// read the event id, check quotas and mirrored upstream rate limits, hand ONE envelope holding the
/// decompressed payload to the outbox, and answer at once as Sentry would. Never waits on an upstream.
/// </summary>
internal sealed partial class SentryIngressHandler
{
    private readonly IOutbox _outbox;
    private readonly SentryReplies _replies;
    private readonly SentryIngressMetrics _metrics;
    private readonly SentryRateLimitTable _limits;
    private readonly TimeProvider _time;
    private readonly ILogger<SentryIngressHandler> _logger;
    private readonly SentryIngressOptions _options;
    private readonly string _topic;
    private readonly SentryAdmission _admission;
    private readonly bool _noUpstream;
    private readonly LogThrottle _outboxFullLog;
    private readonly SentryOutcomeReporter _outcomes;

    public SentryIngressHandler(
        IOutbox outbox,
        SentryReplies replies,
        SentryIngressMetrics metrics,
        SentryRateLimitTable limits,
        SentryAdmission admission,
        SentryOutcomeReporter outcomes,
        IOptions<SentryOptions> options,
        ServiceRoles roles,
        TimeProvider time,
        ILogger<SentryIngressHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _outbox = outbox;
        _replies = replies;
        _metrics = metrics;
        _limits = limits;
        _time = time;
        _outboxFullLog = new LogThrottle(time);
        _logger = logger;
        _options = options.Value.Ingress;
        _topic = options.Value.Topic;
        _admission = admission;
        _outcomes = outcomes;

        // Only known when the forwarder runs here; with --transport dapr it is another process's setting.
        _noUpstream = roles.Has(ServiceRoles.SentryForwarder) && SentryUpstream.Resolve(options.Value.Forwarder, []).Count == 0;
    }

    public Task PreflightAsync(HttpContext context) => _replies.PreflightAsync(context);

    /// <summary>A buffered route (<see cref="SentryIngressEndpoints.Buffered"/>); its rules are its <see cref="SentryEndpointInfo"/>.</summary>
    public async Task HandleAsync(HttpContext context, SentryIngressEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = SentryIngressEndpoints.Of(endpoint);
        _metrics.OgreReqCount.Inc();
        SentryReplies.ApplyCors(context);
        if (_noUpstream)
        {
            await Refuse(context, endpoint, SentryRefusal.NoUpstream, "no upstream Sentry is configured (CloudProxy:Sentry:Forwarder:Upstreams or --pusher.sentry.host)");
            return;
        }

        var request = context.Request;
        var project = request.RouteValues.TryGetValue("project", out var p) ? p as string : null;
        if (project is not null && !long.TryParse(project, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            await Refuse(context, endpoint, SentryRefusal.InvalidProject, $"project id '{Truncate(project)}' is not a number");
            return;
        }

        if (!SentryAuthReader.TryRead(request, out var auth, out var authError))
        {
            var refusal = authError!.StartsWith("multiple", StringComparison.Ordinal) ? SentryRefusal.AuthMultiple : SentryRefusal.AuthInvalid;
            await Refuse(context, endpoint, refusal, authError);
            return;
        }

        var limit = route.Limit switch
        {
            SentryBodyLimit.Envelope => _options.MaxEnvelopeBytes,
            SentryBodyLimit.Attachment => _options.MaxAttachmentBytes,
            _ => _options.MaxEventBytes,
        };
        var (status, body, bodyError) = await SentryBodyReader.ReadAsync(request, limit, context.RequestAborted);
        if (status != SentryBodyStatus.Ok)
        {
            var refusal = status switch
            {
                SentryBodyStatus.TooLarge => SentryRefusal.BodyTooLarge,
                SentryBodyStatus.UnsupportedEncoding => SentryRefusal.UnsupportedEncoding,
                SentryBodyStatus.Corrupt => SentryRefusal.CorruptBody,
                _ => SentryRefusal.Aborted,
            };
            await Refuse(context, endpoint, refusal, bodyError!);
            return;
        }

        if (body.Length == 0 && route.RequiresBody)
        {
            await Refuse(context, endpoint, SentryRefusal.EmptyBody, "empty body");
            return;
        }

        string? eventId = null;
        var categories = route.Categories;
        switch (route.Payload)
        {
            case SentryPayload.Envelope:
                if (!SentryPayloadReader.TryReadEnvelope(body, _options.MaxEventBytes, out var info, out var envelopeError, out var tooLarge))
                {
                    await Refuse(context, endpoint, tooLarge ? SentryRefusal.EventTooLarge : SentryRefusal.MalformedEnvelope, envelopeError!);
                    return;
                }

                eventId = info.EventId;
                categories = info.Categories;
                if (auth.Source == SentryAuthSource.None && info.Dsn is not null)
                {
                    if (!SentryDsn.TryParse(info.Dsn, out var dsn))
                    {
                        await Refuse(context, endpoint, SentryRefusal.AuthInvalid, "the envelope header's dsn is not a Sentry DSN");
                        return;
                    }

                    auth = new SentryAuth(SentryAuthSource.EnvelopeDsn, dsn.PublicKey, null);
                    project ??= dsn.ProjectId;
                }

                break;
            case SentryPayload.StoreEvent:
                if (!SentryPayloadReader.TryReadStoreEventId(body, out eventId, out var isTransaction, out var storeError))
                {
                    await Refuse(context, endpoint, SentryRefusal.MalformedEvent, storeError!);
                    return;
                }

                categories = isTransaction ? SentryCategories.Transaction : SentryCategories.Error;
                break;
        }

        if (auth.Source == SentryAuthSource.None)
        {
            await Refuse(context, endpoint, SentryRefusal.AuthMissing, "missing authorization: give X-Sentry-Auth, Authorization, ?sentry_key= or an envelope dsn");
            return;
        }

        if (_admission.Check(auth.PublicKey, project) is { } refused)
        {
            if (refused.Refusal == SentryRefusal.QuotaExceeded)
            {
                _outcomes.RateLimited(auth.PublicKey, project, SentryOutcomeReporter.QuotaReason, route, body);
            }

            await Refuse(context, endpoint, refused.Refusal, refused.Reason);
            return;
        }

        if (_limits.TryMatch(auth.PublicKey, project, categories, _time.GetUtcNow(), out var matches))
        {
            _outcomes.RateLimited(auth.PublicKey, project, matches!.Select(m => m.ReasonCode).FirstOrDefault(r => r is not null), route, body);
            await _replies.RateLimitedAsync(context, endpoint, matches!);
            return;
        }

        eventId = eventId is null
            ? route.MintsEventId ? Guid.CreateVersion7(_time.GetUtcNow()).ToString("N") : null
            : SentryPayloadReader.Normalize(eventId);
        var envelope = BuildEnvelope(context, route.Kind!, auth, project, eventId, categories, body);
        if (await _outbox.EnqueueAsync(envelope) == OutboxResult.Refused)
        {
            _metrics.OgreFailedPutToQueue.Inc();
            if (_outboxFullLog.ShouldLog(out var refusedCount))
            {
                Log.OutboxFull(_logger, refusedCount, body.Length);
            }

            await Refuse(context, endpoint, SentryRefusal.OutboxFull, "outbox and spool are full; retry later");
            return;
        }

        _metrics.OgrePutToQueue.Inc();
        _metrics.BytesAccepted.Inc(body.Length);
        switch (route.Reply)
        {
            case SentryReply.PlainId:
                await _replies.PlainIdAsync(context, endpoint, eventId!);
                break;
            case SentryReply.Created:
                await _replies.CreatedAsync(context, endpoint);
                break;
            default:
                await _replies.EventIdAsync(context, endpoint, eventId);
                break;
        }
    }

    private Envelope BuildEnvelope(HttpContext context, string kind, SentryAuth auth, string? project, string? eventId, SentryCategories categories, byte[] body)
    {
        var request = context.Request;
        var headers = new Dictionary<string, string>(12, StringComparer.OrdinalIgnoreCase)
        {
            [SentryEnvelopeHeaders.Path] = request.Path.Value ?? "/",
            [SentryEnvelopeHeaders.AuthSource] = SentryAuthReader.NameOf(auth.Source),
            [SentryEnvelopeHeaders.Categories] = ((int)categories).ToString(CultureInfo.InvariantCulture),
        };
        if (request.QueryString.HasValue)
        {
            headers[SentryEnvelopeHeaders.Query] = request.QueryString.Value!;
        }

        Add(headers, SentryEnvelopeHeaders.ContentType, request.ContentType);
        Add(headers, SentryEnvelopeHeaders.Project, project);
        Add(headers, SentryEnvelopeHeaders.EventId, eventId);
        Add(headers, SentryEnvelopeHeaders.UserAgent, request.Headers.UserAgent);
        Add(headers, SentryEnvelopeHeaders.Origin, request.Headers.Origin);
        Add(headers, SentryEnvelopeHeaders.Referer, request.Headers.Referer);
        if (auth.Source is SentryAuthSource.XSentryAuth)
        {
            headers[SentryEnvelopeHeaders.AuthValue] = request.Headers["X-Sentry-Auth"]!;
        }
        else if (auth.Source is SentryAuthSource.AuthorizationSentry or SentryAuthSource.AuthorizationBasic)
        {
            headers[SentryEnvelopeHeaders.AuthValue] = request.Headers.Authorization!;
        }

        // Sentry takes the client IP from X-Forwarded-For; keep what came before us and add the peer.
        var peer = context.Connection.RemoteIpAddress?.ToString();
        string? forwarded = request.Headers["X-Forwarded-For"];
        Add(headers, SentryEnvelopeHeaders.ForwardedFor, string.IsNullOrEmpty(forwarded) ? peer : peer is null ? forwarded : $"{forwarded}, {peer}");

        var activity = Activity.Current;
        return new Envelope
        {
            Topic = _topic,
            Kind = kind,
            Key = auth.PublicKey,
            ReceivedAt = _time.GetUtcNow(),
            TraceParent = activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null,
            TraceState = activity?.TraceStateString,
            Headers = headers,
            Payload = body,
        };
    }

    private static void Add(Dictionary<string, string> headers, string name, string? value)
    {
        // Envelope strings are bounded (u16 length); a giant header is not worth forwarding.
        if (!string.IsNullOrEmpty(value) && value.Length <= 8192)
        {
            headers[name] = value;
        }
    }

    private Task Refuse(HttpContext context, SentryIngressEndpoint endpoint, SentryRefusal refusal, string reason)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var name = SentryIngressMetrics.ReasonName(refusal);
            Log.Refused(_logger, name, reason);
        }

        return _replies.RefuseAsync(context, endpoint, refusal, reason);
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.Refused, Level = LogLevel.Debug, Message = "Refused a Sentry request ({Reason}): {Detail}")]
        public static partial void Refused(ILogger logger, string reason, string detail);

        [LoggerMessage(EventId = SentryEventIds.OutboxFull, Level = LogLevel.Warning, Message = "Refused {Count} Sentry payload(s) with 503 since the last report: outbox and spool are full (the last: {Bytes} bytes)")]
        public static partial void OutboxFull(ILogger logger, long count, int bytes);
    }
}

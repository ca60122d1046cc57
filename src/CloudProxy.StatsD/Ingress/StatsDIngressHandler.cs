using System.Diagnostics;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Outbox;
using CloudProxy.StatsD.Forwarder;
using CloudProxy.StatsD.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// The <c>statsd-ingress</c> request handlers. Each request is validated whole, turned into StatsD lines
/// (prefix applied) and handed to the outbox as ONE envelope; nothing is sent for an invalid request.
/// </summary>
internal sealed partial class StatsDIngressHandler
{
    public const string JwtHeader = "X-JWT-Token";
    public const string JwtQueryParameter = "token";

    private static readonly byte[] HeartbeatBody = "OK"u8.ToArray();

    private readonly StatsDCors _cors;
    private readonly StatsDJwtValidator _jwt;
    private readonly IOutbox _outbox;
    private readonly StatsDReplies _replies;
    private readonly StatsDIngressMetrics _metrics;
    private readonly StatsDSampler _sampler;
    private readonly TimeProvider _time;
    private readonly LogThrottle _outboxFullLog;
    private readonly ILogger<StatsDIngressHandler> _logger;
    private readonly string _topic;
    private readonly int _maxBodyBytes;
    private readonly int _maxBatchMetrics;

    public StatsDIngressHandler(
        IOptions<StatsDOptions> options,
        StatsDCors cors,
        StatsDJwtValidator jwt,
        IOutbox outbox,
        StatsDReplies replies,
        StatsDIngressMetrics metrics,
        StatsDSampler sampler,
        TimeProvider time,
        ILogger<StatsDIngressHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        _cors = cors;
        _jwt = jwt;
        _outbox = outbox;
        _replies = replies;
        _metrics = metrics;
        _sampler = sampler;
        _time = time;
        _outboxFullLog = new LogThrottle(time);
        _logger = logger;
        _topic = o.Topic;
        _maxBodyBytes = (int)Math.Min(o.Ingress.MaxBodyBytes, int.MaxValue);
        _maxBatchMetrics = o.Ingress.MaxBatchMetrics;
        Policy = new StatsDKeyPolicy(o.Ingress.MetricPrefix, o.Ingress.InvalidKeys, o.Ingress.DogStatsDTags);
    }

    public StatsDKeyPolicy Policy { get; }

    /// <summary><c>GET /heartbeat</c>: <c>OK</c>, as statsd-http-proxy answers.</summary>
    public async Task HeartbeatAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _cors.ApplyAsync(context);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = HeartbeatBody.Length;
        _metrics.Request(StatsDIngressEndpoint.Heartbeat, StatusCodes.Status200OK);
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(HeartbeatBody, context.RequestAborted);
        }
    }

    /// <summary><c>POST /{count|gauge|timing|set}/{key}</c>.</summary>
    public async Task MetricAsync(HttpContext context, StatsDMetricType type)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = (StatsDIngressEndpoint)((int)type + 1);
        await _cors.ApplyAsync(context);
        if (_jwt.Enabled && !await AuthorizeAsync(context, endpoint))
        {
            return;
        }

        var key = RouteKey(context, out var keyError);
        if (key is null)
        {
            await Refuse(context, endpoint, StatsDRefusal.InvalidKey, $"Key {keyError}");
            return;
        }

        StatsDBody.LimitBody(context, _maxBodyBytes);
        var read = await StatsDParameters.ReadAsync(context, _maxBodyBytes);
        if (read.Parameters is not { } p)
        {
            await Refuse(context, endpoint, read.Refusal, read.Reason!);
            return;
        }

        if (p.Problem is { } problem)
        {
            await Refuse(context, endpoint, StatsDReplies.RefusalOf(problem.Problem), Capitalize(problem.Message));
            return;
        }

        double rate = 1;
        if (type is StatsDMetricType.Count or StatsDMetricType.Timing && p.SampleRate is not null
            && !StatsDNumber.TryParseSampleRate(p.SampleRate, out rate))
        {
            await Refuse(context, endpoint, StatsDRefusal.InvalidSampleRate, "Invalid sample rate specified: sampleRate must be a number greater than 0 and at most 1");
            return;
        }

        var relative = type == StatsDMetricType.Gauge && p.Shift is not null;
        var value = type switch
        {
            StatsDMetricType.Timing => p.Time ?? string.Empty,
            StatsDMetricType.Gauge when relative => p.Shift!,
            _ => p.Value ?? "1", // statsd-http-proxy's default for count, gauge and set
        };

        using var lines = new StatsDLineBuilder(128);
        if (!StatsDMetricWriter.TryAppend(lines, Policy, key, type, value, relative, rate, p.Tags, out var error))
        {
            await Refuse(context, endpoint, StatsDReplies.RefusalOf(error.Problem), Capitalize(error.Message));
            return;
        }

        if (!_sampler.Keep(rate))
        {
            _metrics.SampledOut.Inc();
            await _replies.OkAsync(context, endpoint);
            return;
        }

        await SubmitAsync(context, endpoint, lines);
    }

    /// <summary><c>POST /batch</c>: a JSON array of metrics or newline-separated StatsD lines; all or nothing.</summary>
    public async Task BatchAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        const StatsDIngressEndpoint endpoint = StatsDIngressEndpoint.Batch;
        await _cors.ApplyAsync(context);
        if (_jwt.Enabled && !await AuthorizeAsync(context, endpoint))
        {
            return;
        }

        var request = context.Request;
        StatsDBody.LimitBody(context, _maxBodyBytes);
        if (request.ContentLength > _maxBodyBytes)
        {
            await Refuse(context, endpoint, StatsDRefusal.BodyTooLarge, TooLarge());
            return;
        }

        var json = request.HasJsonContentType();
        if (!json && !StatsDParameters.IsTextOrMissing(request.ContentType))
        {
            await Refuse(context, endpoint, StatsDRefusal.UnsupportedMediaType,
                $"Unsupported Content-Type '{request.ContentType}': send application/json (an array of metrics) or text/plain (StatsD lines)");
            return;
        }

        StatsDBody? body;
        try
        {
            body = await StatsDBody.ReadAsync(request, _maxBodyBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }

        if (body is null)
        {
            await Refuse(context, endpoint, StatsDRefusal.BodyTooLarge, TooLarge());
            return;
        }

        using (body)
        {
            if (string.IsNullOrEmpty(request.ContentType))
            {
                json = body.Span.TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
            }

            using var lines = new StatsDLineBuilder(Math.Max(256, body.Length + (body.Length / 4)));
            var result = json
                ? StatsDBatchReader.ReadJson(body.Span, Policy, _sampler, _maxBatchMetrics, lines)
                : StatsDBatchReader.ReadText(body.Span, Policy, _maxBatchMetrics, lines);
            if (result.Failure is { } failure)
            {
                await Refuse(context, endpoint, failure, result.FailureReason!);
                return;
            }

            if (result.Invalid > 0)
            {
                Log.Refused(_logger, "batch", result.Errors![0].Reason);
                await _replies.RefuseBatchAsync(context, result.Errors, result.Invalid, result.Entries);
                return;
            }

            _metrics.SampledOut.Inc(result.SampledOut);
            if (lines.LineCount == 0)
            {
                await _replies.OkAsync(context, endpoint);
                return;
            }

            await SubmitAsync(context, endpoint, lines);
        }
    }

    /// <summary>OPTIONS on any ingress route: the CORS preflight answer (204).</summary>
    public async Task PreflightAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _cors.PreflightAsync(context);
        _metrics.Request(StatsDIngressEndpoint.Preflight, context.Response.StatusCode);
    }

    /// <summary>
    /// statsd-http-proxy's JWT check: the token from the <c>X-JWT-Token</c> header, else the <c>token</c> query
    /// parameter; 401 when missing, 403 when invalid or expired.
    /// </summary>
    private async ValueTask<bool> AuthorizeAsync(HttpContext context, StatsDIngressEndpoint endpoint)
    {
        string? token = context.Request.Headers[JwtHeader];
        if (string.IsNullOrEmpty(token))
        {
            token = context.Request.Query[JwtQueryParameter];
        }

        var result = await _jwt.ValidateAsync(token);
        if (result.Status == StatsDJwtStatus.Valid)
        {
            return true;
        }

        var refusal = result.Status == StatsDJwtStatus.Missing ? StatsDRefusal.TokenMissing : StatsDRefusal.TokenInvalid;
        await Refuse(context, endpoint, refusal, result.Reason ?? "Error parsing token");
        return false;
    }

    /// <summary>
    /// The key as the client sent it: the last segment of the raw request target, percent-decoded strictly.
    /// Routing decodes every escape but %2F (a key may hold a slash, which etsy turns into '-') and leaves an
    /// escape that is not UTF-8 as text, so the route value alone cannot tell <c>%ED%A0%80</c> from <c>%25ED…</c>.
    /// </summary>
    private static string? RouteKey(HttpContext context, out string? error)
    {
        error = null;
        var routed = context.Request.RouteValues["key"] as string ?? string.Empty;
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            return routed.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        }

        var path = raw.AsSpan();
        var query = path.IndexOf('?');
        if (query >= 0)
        {
            path = path[..query];
        }

        var key = StatsDUrlDecoder.Decode(path[(path.LastIndexOf('/') + 1)..], form: false, out error);
        if (key is null)
        {
            return null;
        }

        // Dot segments or doubled slashes in the raw target: routing matched its normalized form, so trust that.
        return key.Replace("/", "%2F", StringComparison.Ordinal) == routed ? key : routed.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }

    private async Task SubmitAsync(HttpContext context, StatsDIngressEndpoint endpoint, StatsDLineBuilder lines)
    {
        var activity = Activity.Current;
        var envelope = new Envelope
        {
            Topic = _topic,
            Kind = StatsDForwarder.LinesKind,
            ReceivedAt = _time.GetUtcNow(),
            TraceParent = activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null,
            TraceState = activity?.TraceStateString,
            Payload = lines.ToArray(),
        };

        if (await _outbox.EnqueueAsync(envelope) == OutboxResult.Refused)
        {
            if (_outboxFullLog.ShouldLog(out var refused))
            {
                Log.OutboxFull(_logger, refused, lines.LineCount);
            }

            await _replies.RefuseAsync(context, endpoint, StatsDRefusal.OutboxFull, "Outbox and spool are full; retry later");
            return;
        }

        _metrics.LinesAccepted.Inc(lines.LineCount);
        await _replies.OkAsync(context, endpoint);
    }

    private Task Refuse(HttpContext context, StatsDIngressEndpoint endpoint, StatsDRefusal refusal, string reason)
    {
        var name = StatsDIngressMetrics.ReasonName(refusal);
        Log.Refused(_logger, name, reason);

        return _replies.RefuseAsync(context, endpoint, refusal, reason);
    }

    private string TooLarge() => $"Request body is larger than {_maxBodyBytes} bytes (CloudProxy:StatsD:Ingress:MaxBodyBytes)";

    private static string Capitalize(string message) =>
        message.Length == 0 || char.IsUpper(message[0]) ? message : string.Concat(char.ToUpperInvariant(message[0]).ToString(), message.AsSpan(1));

    private static partial class Log
    {
        [LoggerMessage(EventId = StatsDEventIds.Refused, Level = LogLevel.Debug, Message = "Refused a StatsD request ({Reason}): {Detail}")]
        public static partial void Refused(ILogger logger, string reason, string detail);

        [LoggerMessage(EventId = StatsDEventIds.OutboxFull, Level = LogLevel.Warning, Message = "Refused {Count} StatsD request(s) with 503 since the last report: outbox and spool are full (the last had {Lines} lines)")]
        public static partial void OutboxFull(ILogger logger, long count, int lines);
    }
}

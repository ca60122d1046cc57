using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
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
    private readonly StatsDCardinalityGuard _guard;
    private readonly StatsDFloodLimiter<IPAddress> _clientLimiter;
    private readonly StatsDFloodLimiter<string> _tokenLimiter;
    private readonly double _clientRate;
    private readonly double _tokenRate;
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
        StatsDCardinalityGuard guard,
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
        _guard = guard;
        _clientRate = o.Ingress.ClientRequestsPerSecond;
        _tokenRate = o.Ingress.TokenRequestsPerSecond;
        _clientLimiter = new StatsDFloodLimiter<IPAddress>(_clientRate, o.Ingress.ClientBurst, time);
        _tokenLimiter = new StatsDFloodLimiter<string>(_tokenRate, o.Ingress.TokenBurst, time);
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
        var info = StatsDMetricTypes.Of(type);
        var endpoint = StatsDIngressLabels.EndpointOf(type);
        await _cors.ApplyAsync(context);
        if (!await AdmitClientAsync(context, endpoint))
        {
            return;
        }

        // A token in the header or query is checked before anything is read; else it may come in the body (a beacon).
        var auth = await AuthorizeEarlyAsync(context, endpoint);
        if (auth.Refused)
        {
            return;
        }

        var key = RouteKey(context, out var keyError);
        if (key is null && !auth.Deferred)
        {
            await Refuse(context, endpoint, StatsDRefusal.InvalidKey, $"Key {keyError}");
            return;
        }

        StatsDBody.LimitBody(context, _maxBodyBytes);
        var read = await StatsDParameters.ReadAsync(context, _maxBodyBytes);
        var token = auth.Token;
        if (auth.Deferred)
        {
            token = read.Parameters?.Token;
            if (!await AuthorizeAsync(context, endpoint, token))
            {
                return;
            }
        }

        if (key is null)
        {
            await Refuse(context, endpoint, StatsDRefusal.InvalidKey, $"Key {keyError}");
            return;
        }

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
        if (info.Sampled && p.SampleRate is not null
            && !StatsDNumber.TryParseSampleRate(p.SampleRate, out rate))
        {
            await Refuse(context, endpoint, StatsDRefusal.InvalidSampleRate, "Invalid sample rate specified: sampleRate must be a number greater than 0 and at most 1");
            return;
        }

        var relative = info.Shifts && p.Shift is not null;
        var value = relative ? p.Shift! : p.ValueOf(info.ValueName) ?? info.DefaultValue ?? string.Empty;

        using var lines = new StatsDLineBuilder(128);
        if (!StatsDMetricWriter.TryAppend(lines, Policy, key, type, value, relative, rate, p.Tags, out var error))
        {
            await Refuse(context, endpoint, StatsDReplies.RefusalOf(error.Problem), Capitalize(error.Message));
            return;
        }

        if (_guard.Enabled && _guard.Admit(MetricName(lines.WrittenSpan), token) is { } refused)
        {
            _metrics.LineRefused(refused.Refusal);
            await Refuse(context, endpoint, refused.Refusal, "Metric refused by the cardinality guard: " + refused.Reason, _guard.SecondsLeft());
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
        if (!await AdmitClientAsync(context, endpoint))
        {
            return;
        }

        var auth = await AuthorizeEarlyAsync(context, endpoint);
        if (auth.Refused)
        {
            return;
        }

        var request = context.Request;
        StatsDBody.LimitBody(context, _maxBodyBytes);
        var json = request.HasJsonContentType();
        StatsDRefusal? failure = null;
        string? failureReason = null;
        if (request.ContentLength > _maxBodyBytes)
        {
            (failure, failureReason) = (StatsDRefusal.BodyTooLarge, TooLarge());
        }
        else if (!json && !StatsDParameters.IsTextOrMissing(request.ContentType))
        {
            (failure, failureReason) = (StatsDRefusal.UnsupportedMediaType,
                $"Unsupported Content-Type '{request.ContentType}': send application/json (an array of metrics) or text/plain (StatsD lines)");
        }

        StatsDBody? body = null;
        if (failure is null)
        {
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
                (failure, failureReason) = (StatsDRefusal.BodyTooLarge, TooLarge());
            }
        }

        using (body)
        {
            if (body is not null && string.IsNullOrEmpty(request.ContentType))
            {
                json = body.Span.TrimStart(" \t\r\n"u8) is [(byte)'[' or (byte)'{', ..];
            }

            // The body's token line (text) or token property (JSON object) is taken out whether or not a header
            // carried one; it counts only when neither the header nor the query did.
            string? bodyToken = null;
            var (start, length) = (0, body?.Length ?? 0);
            if (body is not null)
            {
                bodyToken = TakeBodyToken(body, json, out start, out length, out var tokenError);
                if (tokenError is not null)
                {
                    (failure, failureReason) = (StatsDRefusal.MalformedBody, tokenError);
                }
            }

            var token = auth.Token;
            if (auth.Deferred)
            {
                token = bodyToken;
                if (!await AuthorizeAsync(context, endpoint, token))
                {
                    return;
                }
            }

            if (failure is { } refusal)
            {
                await Refuse(context, endpoint, refusal, failureReason!);
                return;
            }

            using var lines = new StatsDLineBuilder(Math.Max(256, length + (length / 4)));
            var result = ReadBatch(body!.Span.Slice(start, length), json, lines);
            if (result.Failure is { } resultFailure)
            {
                await Refuse(context, endpoint, resultFailure, result.FailureReason!);
                return;
            }

            if (result.Invalid > 0)
            {
                Log.Refused(_logger, "batch", result.Errors![0].Reason);
                await _replies.RefuseBatchAsync(context, result.Errors, result.Invalid, result.Entries);
                return;
            }

            _metrics.SampledOut.Inc(result.SampledOut);
            var answer = new StatsDBatchAnswer(result.Entries, result.SampledOut);
            using var admitted = _guard.Enabled ? GuardBatch(lines, token, answer) : null;
            var send = admitted ?? lines;
            if (answer.Refused > 0 && send.LineCount == 0)
            {
                Log.Refused(_logger, "batch", answer.Refusals[0].Reason);
                await _replies.RefuseGuardedBatchAsync(context, answer, _guard.SecondsLeft());
                return;
            }

            if (send.LineCount == 0)
            {
                await _replies.BatchOkAsync(context, answer);
                return;
            }

            answer.Accepted = send.LineCount;
            await SubmitAsync(context, endpoint, send, answer);
        }
    }

    private StatsDBatchResult ReadBatch(ReadOnlySpan<byte> span, bool json, StatsDLineBuilder lines) => json
        ? StatsDBatchReader.ReadJson(span, Policy, _sampler, _maxBatchMetrics, lines)
        : StatsDBatchReader.ReadText(span, Policy, _maxBatchMetrics, lines);

    private static string? TakeBodyToken(StatsDBody body, bool json, out int start, out int length, out string? error)
    {
        var whole = body.Span;
        var span = whole;
        var token = StatsDBatchReader.TakeToken(ref span, json, out error);
        start = span.IsEmpty ? 0 : (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(whole), ref MemoryMarshal.GetReference(span));
        length = span.Length;
        return token;
    }

    /// <summary>
    /// Runs every line of a batch through the cardinality guard. Null when all passed; else a builder with only
    /// the admitted lines, the refused ones listed in <paramref name="answer"/>.
    /// </summary>
    private StatsDLineBuilder? GuardBatch(StatsDLineBuilder lines, string? token, StatsDBatchAnswer answer)
    {
        StatsDLineBuilder? admitted = null;
        var rest = lines.WrittenSpan;
        var offset = 0;
        var index = 0;
        while (!rest.IsEmpty)
        {
            var newline = rest.IndexOf((byte)'\n');
            var line = rest[..(newline + 1)];
            if (_guard.Admit(MetricName(line), token) is { } refused)
            {
                if (admitted is null)
                {
                    admitted = new StatsDLineBuilder(lines.Length);
                    admitted.Append(lines.WrittenSpan[..offset]);
                    admitted.Truncate(offset, index);
                }

                _metrics.LineRefused(refused.Refusal);
                answer.Refuse(Encoding.UTF8.GetString(line[..line.IndexOf((byte)':')]), refused.Refusal, refused.Reason);
            }
            else if (admitted is not null)
            {
                admitted.Append(line[..^1]);
                admitted.EndLine();
            }

            offset += line.Length;
            index++;
            rest = rest[line.Length..];
        }

        return admitted;
    }

    /// <summary>The name of the first line in <paramref name="lines"/>, without MetricPrefix (what the guard counts).</summary>
    private ReadOnlySpan<byte> MetricName(ReadOnlySpan<byte> lines)
    {
        var colon = lines.IndexOf((byte)':');
        var name = colon < 0 ? lines : lines[..colon];
        var prefix = Policy.PrefixUtf8;
        return name.StartsWith(prefix) ? name[prefix.Length..] : name;
    }

    /// <summary>OPTIONS on any ingress route: the CORS preflight answer (204).</summary>
    public async Task PreflightAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await _cors.PreflightAsync(context);
        _metrics.Request(StatsDIngressEndpoint.Preflight, context.Response.StatusCode);
    }

    private readonly record struct EarlyAuth(bool Refused, bool Deferred, string? Token);

    /// <summary>Per client IP flood limit (the connection's address); 429 with Retry-After when its bucket is empty.</summary>
    private async ValueTask<bool> AdmitClientAsync(HttpContext context, StatsDIngressEndpoint endpoint)
    {
        if (!_clientLimiter.Enabled)
        {
            return true;
        }

        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (_clientLimiter.TryTake(address, out var retryAfter))
        {
            return true;
        }

        await Refuse(context, endpoint, StatsDRefusal.FloodClient,
            $"Too many requests from {address}: more than {_clientRate.ToString(CultureInfo.InvariantCulture)} a second (CloudProxy:StatsD:Ingress:ClientRequestsPerSecond); retry in {retryAfter} s",
            retryAfter);
        return false;
    }

    /// <summary>
    /// statsd-http-proxy's JWT check, from the <c>X-JWT-Token</c> header, else the <c>token</c> query parameter.
    /// With neither, and a body to come, the check waits for the body's token (<see cref="EarlyAuth.Deferred"/>).
    /// </summary>
    private async ValueTask<EarlyAuth> AuthorizeEarlyAsync(HttpContext context, StatsDIngressEndpoint endpoint)
    {
        if (!_jwt.Enabled)
        {
            return default;
        }

        string? token = context.Request.Headers[JwtHeader];
        if (string.IsNullOrEmpty(token))
        {
            token = context.Request.Query[JwtQueryParameter];
        }

        if (string.IsNullOrEmpty(token) && context.Request.ContentLength != 0
            && context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: false })
        {
            return new EarlyAuth(false, true, null);
        }

        return await AuthorizeAsync(context, endpoint, token) ? new EarlyAuth(false, false, token) : new EarlyAuth(true, false, null);
    }

    /// <summary>401 when the token is missing, 403 when invalid or expired; then the per-token flood limit.</summary>
    private async ValueTask<bool> AuthorizeAsync(HttpContext context, StatsDIngressEndpoint endpoint, string? token)
    {
        if (!_jwt.Enabled)
        {
            return true;
        }

        var result = await _jwt.ValidateAsync(token);
        if (result.Status != StatsDJwtStatus.Valid)
        {
            var refusal = result.Status == StatsDJwtStatus.Missing ? StatsDRefusal.TokenMissing : StatsDRefusal.TokenInvalid;
            await Refuse(context, endpoint, refusal, result.Reason ?? "Error parsing token");
            return false;
        }

        if (_tokenLimiter.TryTake(token!, out var retryAfter))
        {
            return true;
        }

        await Refuse(context, endpoint, StatsDRefusal.FloodToken,
            $"Too many requests with this token: more than {_tokenRate.ToString(CultureInfo.InvariantCulture)} a second (CloudProxy:StatsD:Ingress:TokenRequestsPerSecond); retry in {retryAfter} s",
            retryAfter);
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

    private async Task SubmitAsync(HttpContext context, StatsDIngressEndpoint endpoint, StatsDLineBuilder lines, StatsDBatchAnswer? answer = null)
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
        if (answer is not null)
        {
            await _replies.BatchOkAsync(context, answer);
            return;
        }

        await _replies.OkAsync(context, endpoint);
    }

    private Task Refuse(HttpContext context, StatsDIngressEndpoint endpoint, StatsDRefusal refusal, string reason, int retryAfterSeconds = 0)
    {
        var name = StatsDIngressMetrics.ReasonName(refusal);
        Log.Refused(_logger, name, reason);

        return _replies.RefuseAsync(context, endpoint, refusal, reason, retryAfterSeconds);
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

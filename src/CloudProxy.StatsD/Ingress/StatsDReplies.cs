using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CloudProxy.StatsD.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.StatsD.Ingress;

/// <summary>One failed batch entry: its 0-based index and why.</summary>
internal readonly record struct StatsDBatchError(int Index, StatsDProblem Problem, string Reason);

/// <summary>
/// Every answer the ingress writes goes through here, so status, reason text and counters stay together.
/// Success is statsd-http-proxy's: 200 with an empty body. Errors are <c>text/plain</c> with the reason on
/// one line (as Go's <c>http.Error</c> writes them), a failed batch is JSON listing its bad entries.
/// </summary>
internal sealed class StatsDReplies(StatsDIngressMetrics metrics)
{
    /// <summary>Seconds a client should wait after a 503 (outbox and spool full).</summary>
    public const string RetryAfterSeconds = "5";

    public static int StatusOf(StatsDRefusal refusal) => refusal switch
    {
        StatsDRefusal.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        StatsDRefusal.BodyTooLarge or StatsDRefusal.TooManyMetrics => StatusCodes.Status413PayloadTooLarge,
        StatsDRefusal.TokenMissing => StatusCodes.Status401Unauthorized,
        StatsDRefusal.TokenInvalid => StatusCodes.Status403Forbidden,
        StatsDRefusal.OutboxFull => StatusCodes.Status503ServiceUnavailable,
        StatsDRefusal.FloodClient or StatsDRefusal.FloodToken or StatsDRefusal.TooManyNamesForPrefix
            or StatsDRefusal.TooManyPrefixes or StatsDRefusal.TooManyNamesForToken => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status400BadRequest,
    };

    public static StatsDRefusal RefusalOf(StatsDProblem problem) => problem switch
    {
        StatsDProblem.InvalidKey => StatsDRefusal.InvalidKey,
        StatsDProblem.InvalidValue => StatsDRefusal.InvalidValue,
        StatsDProblem.MissingValue => StatsDRefusal.MissingValue,
        StatsDProblem.InvalidSampleRate => StatsDRefusal.InvalidSampleRate,
        StatsDProblem.InvalidTags => StatsDRefusal.InvalidTags,
        StatsDProblem.TagsDisabled => StatsDRefusal.TagsDisabled,
        StatsDProblem.InvalidType => StatsDRefusal.InvalidType,
        _ => StatsDRefusal.MalformedLine,
    };

    public Task OkAsync(HttpContext context, StatsDIngressEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
        metrics.Request(endpoint, StatusCodes.Status200OK);
        return Task.CompletedTask;
    }

    public Task RefuseAsync(HttpContext context, StatsDIngressEndpoint endpoint, StatsDRefusal refusal, string reason, int retryAfterSeconds = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        var status = StatusOf(refusal);
        metrics.Refusal(refusal);
        metrics.Request(endpoint, status);
        var response = context.Response;
        response.StatusCode = status;
        if (refusal == StatsDRefusal.OutboxFull)
        {
            response.Headers.RetryAfter = RetryAfterSeconds;
        }
        else if (retryAfterSeconds > 0)
        {
            response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        response.ContentType = "text/plain; charset=utf-8";
        var body = Encoding.UTF8.GetBytes(reason + "\n");
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public async Task RefuseBatchAsync(HttpContext context, IReadOnlyList<StatsDBatchError> errors, int invalidCount, int entryCount)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(errors);
        var refusal = RefusalOf(errors[0].Problem);
        metrics.Refusal(refusal);
        metrics.Request(StatsDIngressEndpoint.Batch, StatusCodes.Status400BadRequest);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status400BadRequest;
        response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("error", $"{invalidCount} of {entryCount} metrics are invalid; nothing was sent");
            json.WriteNumber("entries", entryCount);
            json.WriteNumber("accepted", 0);
            json.WriteNumber("refused", entryCount);
            json.WriteStartArray("invalid");
            foreach (var error in errors)
            {
                json.WriteStartObject();
                json.WriteNumber("index", error.Index);
                json.WriteString("reason", error.Reason);
                json.WriteString("code", StatsDIngressMetrics.ReasonName(RefusalOf(error.Problem)));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>
    /// A batch that went on (200): <c>{"entries":n,"accepted":lines,"sampledOut":k,"refused":r,"refusals":[…]}</c>;
    /// <c>refusals</c> lists lines the cardinality guard kept back (the rest of the batch was sent).
    /// </summary>
    public Task BatchOkAsync(HttpContext context, StatsDBatchAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(answer);
        metrics.Request(StatsDIngressEndpoint.Batch, StatusCodes.Status200OK);
        return WriteAnswerAsync(context, StatusCodes.Status200OK, answer, error: null);
    }

    /// <summary>A batch whose every line the cardinality guard refused: 429, Retry-After = the end of its window, the same JSON.</summary>
    public Task RefuseGuardedBatchAsync(HttpContext context, StatsDBatchAnswer answer, int retryAfterSeconds)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(answer);
        var refusal = answer.Refusals[0].Refusal;
        metrics.Refusal(refusal);
        metrics.Request(StatsDIngressEndpoint.Batch, StatusCodes.Status429TooManyRequests);
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return WriteAnswerAsync(context, StatusCodes.Status429TooManyRequests, answer, $"all {answer.Refused} metric lines were refused by the cardinality guard; nothing was sent");
    }

    private static async Task WriteAnswerAsync(HttpContext context, int status, StatsDBatchAnswer answer, string? error)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (error is not null)
            {
                json.WriteString("error", error);
            }

            json.WriteNumber("entries", answer.Entries);
            json.WriteNumber("accepted", answer.Accepted);
            json.WriteNumber("sampledOut", answer.SampledOut);
            json.WriteNumber("refused", answer.Refused);
            json.WriteStartArray("refusals");
            foreach (var refusal in answer.Refusals)
            {
                json.WriteStartObject();
                json.WriteString("key", refusal.Key);
                json.WriteString("reason", refusal.Reason);
                json.WriteString("code", StatsDIngressMetrics.ReasonName(refusal.Refusal));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}

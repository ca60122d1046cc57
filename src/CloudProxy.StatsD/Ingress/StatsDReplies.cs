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

    public Task RefuseAsync(HttpContext context, StatsDIngressEndpoint endpoint, StatsDRefusal refusal, string reason)
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
}

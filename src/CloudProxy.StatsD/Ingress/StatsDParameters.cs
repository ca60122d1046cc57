using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// The parameters of one metric request, as statsd-http-proxy names them (<c>value</c>, <c>shift</c>,
/// <c>time</c>, <c>sampleRate</c>) plus <c>tags</c>. They come from the query string and from the body
/// (form, JSON object, or a <c>text/plain</c> body holding a form string, which is what fetch sends for a
/// string body); the body wins when both name one.
/// </summary>
internal sealed class StatsDParameters
{
    public string? Value { get; private set; }

    public string? Shift { get; private set; }

    public string? Time { get; private set; }

    public string? SampleRate { get; private set; }

    public string? Tags { get; private set; }

    public readonly record struct ReadResult(StatsDParameters? Parameters, StatsDRefusal Refusal, string? Reason);

    public static async ValueTask<ReadResult> ReadAsync(HttpContext context, int maxBodyBytes)
    {
        var request = context.Request;
        var parameters = new StatsDParameters();
        if (request.QueryString.HasValue)
        {
            parameters.Take(request.Query);
        }

        if (request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return new ReadResult(parameters, default, null);
        }

        if (request.ContentLength > maxBodyBytes)
        {
            return TooLarge(maxBodyBytes);
        }

        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(context.RequestAborted);
                parameters.Take(form);
                return new ReadResult(parameters, default, null);
            }

            var json = request.HasJsonContentType();
            if (!json && !IsTextOrMissing(request.ContentType))
            {
                return new ReadResult(null, StatsDRefusal.UnsupportedMediaType,
                    $"Unsupported Content-Type '{request.ContentType}': send a form (application/x-www-form-urlencoded or multipart/form-data), application/json, or the query string");
            }

            using var body = await StatsDBody.ReadAsync(request, maxBodyBytes, context.RequestAborted);
            if (body is null)
            {
                return TooLarge(maxBodyBytes);
            }

            if (json)
            {
                var problem = parameters.TakeJson(body.Span);
                return problem is null
                    ? new ReadResult(parameters, default, null)
                    : new ReadResult(null, StatsDRefusal.MalformedBody, problem);
            }

            if (body.Length > 0)
            {
                var text = Encoding.UTF8.GetString(body.Span);
                parameters.Take(QueryHelpers.ParseQuery(text));
            }

            return new ReadResult(parameters, default, null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(maxBodyBytes);
        }
        catch (InvalidDataException ex)
        {
            return new ReadResult(null, StatsDRefusal.MalformedBody, "Malformed form body: " + ex.Message);
        }
    }

    internal static bool IsTextOrMissing(string? contentType) =>
        string.IsNullOrEmpty(contentType) || contentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase);

    private static ReadResult TooLarge(int maxBodyBytes) =>
        new(null, StatsDRefusal.BodyTooLarge, $"Request body is larger than {maxBodyBytes} bytes (CloudProxy:StatsD:Ingress:MaxBodyBytes)");

    private void Take(IEnumerable<KeyValuePair<string, StringValues>> values)
    {
        foreach (var (name, value) in values)
        {
            Set(name, value.Count > 0 ? value[0] : null);
        }
    }

    private void Set(string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        switch (name)
        {
            case "value":
                Value = value;
                break;
            case "shift":
                Shift = value;
                break;
            case "time":
                Time = value;
                break;
            case "sampleRate":
                SampleRate = value;
                break;
            case "tags":
                Tags = value;
                break;
        }
    }

    private string? TakeJson(ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            return "Body is not valid JSON: " + ex.Message;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return "JSON body must be an object like {\"value\": 1, \"sampleRate\": 0.5}";
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("tags"))
                {
                    var tags = JsonTags(property.Value, out var tagProblem);
                    if (tagProblem is not null)
                    {
                        return tagProblem;
                    }

                    Tags = tags;
                    continue;
                }

                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.Number:
                        Set(property.Name, property.Value.GetRawText());
                        break;
                    case JsonValueKind.String:
                        Set(property.Name, property.Value.GetString());
                        break;
                    case JsonValueKind.Null:
                        break;
                    default:
                        if (property.Name is "value" or "shift" or "time" or "sampleRate")
                        {
                            return $"JSON property '{property.Name}' must be a number or a string";
                        }

                        break;
                }
            }
        }

        return null;
    }

    /// <summary>Tags as a JSON string (<c>"a:b,c"</c>) or an array of strings (<c>["a:b","c"]</c>).</summary>
    internal static string? JsonTags(JsonElement element, out string? problem)
    {
        problem = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Array:
                var builder = new StringBuilder();
                foreach (var tag in element.EnumerateArray())
                {
                    var text = tag.ValueKind == JsonValueKind.String ? tag.GetString() : null;
                    if (text is null || text.Contains(','))
                    {
                        problem = "each entry of 'tags' must be a string without ','";
                        return null;
                    }

                    if (builder.Length > 0)
                    {
                        builder.Append(',');
                    }

                    builder.Append(text);
                }

                return builder.ToString();
            default:
                problem = "'tags' must be a string like \"a:b,c\" or an array of strings";
                return null;
        }
    }
}

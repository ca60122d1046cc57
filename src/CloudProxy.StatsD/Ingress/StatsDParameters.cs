using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CloudProxy.StatsD.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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

    /// <summary>The JWT as a <c>token</c> parameter (query, form, JSON or text body): what a beacon, which cannot set headers, sends.</summary>
    public string? Token { get; private set; }

    /// <summary>A parameter that is present but unusable (not UTF-8, tags that start a JSON array and are not one).</summary>
    public StatsDError? Problem { get; private set; }

    public readonly record struct ReadResult(StatsDParameters? Parameters, StatsDRefusal Refusal, string? Reason);

    public static async ValueTask<ReadResult> ReadAsync(HttpContext context, int maxBodyBytes)
    {
        var request = context.Request;
        var parameters = new StatsDParameters();
        if (request.QueryString.HasValue)
        {
            parameters.TakeEncoded(request.QueryString.Value.AsSpan(1));
        }

        // The server knows whether a body can follow (Content-Length, chunked, or an HTTP/2 data frame).
        if (request.ContentLength == 0 || context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return new ReadResult(parameters, default, null);
        }

        if (request.ContentLength > maxBodyBytes)
        {
            return TooLarge(maxBodyBytes);
        }

        try
        {
            // A urlencoded form is decoded here, strictly (the framework's reader keeps escapes that are not UTF-8
            // as text); multipart parts arrive as UTF-8 text with U+FFFD for bad bytes, which names refuse.
            if (request.HasFormContentType && !IsUrlEncoded(request.ContentType))
            {
                var form = await request.ReadFormAsync(context.RequestAborted);
                parameters.Take(form);
                return new ReadResult(parameters, default, null);
            }

            var json = request.HasJsonContentType();
            if (!json && !IsTextOrMissing(request.ContentType) && !IsUrlEncoded(request.ContentType))
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
                if (!Utf8.IsValid(body.Span))
                {
                    return new ReadResult(null, StatsDRefusal.MalformedBody, "Form body is not UTF-8");
                }

                parameters.TakeEncoded(Encoding.UTF8.GetString(body.Span));
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

    private static bool IsUrlEncoded(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    internal static bool IsTextOrMissing(string? contentType) =>
        string.IsNullOrEmpty(contentType) || contentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase);

    private static ReadResult TooLarge(int maxBodyBytes) =>
        new(null, StatsDRefusal.BodyTooLarge, $"Request body is larger than {maxBodyBytes} bytes (CloudProxy:StatsD:Ingress:MaxBodyBytes)");

    private void TakeEncoded(ReadOnlySpan<char> encoded)
    {
        if (StatsDUrlDecoder.ParseForm(encoded, Set) is { } bad && Problem is null)
        {
            Problem = new StatsDError(bad.Name switch
            {
                "tags" => StatsDProblem.InvalidTags,
                "sampleRate" => StatsDProblem.InvalidSampleRate,
                _ => StatsDProblem.InvalidValue,
            }, bad.Error);
        }
    }

    private void Take(IEnumerable<KeyValuePair<string, StringValues>> values)
    {
        foreach (var (name, value) in values)
        {
            Set(name, value.Count > 0 ? value[0] : null);
        }
    }

    /// <summary>The parameter a metric type's value comes in (<see cref="StatsDMetricTypeInfo.ValueName"/>: <c>value</c> or <c>time</c>).</summary>
    public string? ValueOf(string name) => name switch
    {
        "value" => Value,
        "time" => Time,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a value parameter"),
    };

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
                Tags = FormTags(value);
                break;
            case "token":
                Token = value;
                break;
        }
    }

    /// <summary>Form and query tags are <c>a:b,c</c>; a value that starts with '[' is read as a JSON array of strings, as in a JSON body.</summary>
    private string? FormTags(string value)
    {
        if (!value.AsSpan().TrimStart().StartsWith('['))
        {
            return value;
        }

        try
        {
            using var document = JsonDocument.Parse(value);
            var tags = JsonTags(document.RootElement, out var problem);
            if (problem is not null)
            {
                Problem ??= new StatsDError(StatsDProblem.InvalidTags, problem);
            }

            return tags;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            Problem ??= new StatsDError(StatsDProblem.InvalidTags, "tags start with '[' but are not a JSON array of strings: " + ex.Message);
            return null;
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

        try
        {
            return TakeJsonObject(document);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on an escaped lone surrogate ("\ud800"): not text a name may hold.
            return "Body holds a JSON string that is not valid text (an unpaired surrogate escape): " + ex.Message;
        }
    }

    private string? TakeJsonObject(JsonDocument document)
    {
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

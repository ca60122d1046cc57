using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// How daprd wraps a publish in a CloudEvent, from dapr/dapr pkg/runtime/pubsub/cloudevents.go@d8450742
/// (NewCloudEvent) and dapr/components-contrib pubsub/envelope.go@c23900d2 (NewCloudEventsEnvelope, lines
/// 72-126): <c>application/json</c> data is parsed into <c>data</c> (kept as a string when it does not parse),
/// <c>application/octet-stream</c> goes base64 into <c>data_base64</c>, anything else into <c>data</c> as a
/// string; an empty content type becomes <c>text/plain</c>; <c>traceid</c> and <c>traceparent</c> both carry the
/// producer span's W3C context. A <c>application/cloudevents+json</c> publish is taken as the event itself
/// (envelope.go FromCloudEvent). Go's json.Marshal writes map keys sorted, which is how the bytes are laid out.
/// </summary>
public static class DaprCloudEvents
{
    public const string CloudEventContentType = "application/cloudevents+json";
    public const string JsonContentType = "application/json";
    public const string OctetStream = "application/octet-stream";

    /// <summary>The event daprd publishes for <paramref name="data"/>, as the JSON bytes it hands the component.</summary>
    public static byte[] Wrap(string source, string topic, string pubsubName, string dataContentType, byte[] data, string traceParent, string traceState) =>
        Encoding.UTF8.GetBytes(WrapObject(source, topic, pubsubName, dataContentType, data, traceParent, traceState).ToJsonString());

    public static JsonObject WrapObject(string source, string topic, string pubsubName, string dataContentType, byte[] data, string traceParent, string traceState)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (IsContentType(dataContentType, CloudEventContentType))
        {
            return FromCloudEvent(data, topic, pubsubName, traceParent, traceState);
        }

        if (string.IsNullOrEmpty(dataContentType))
        {
            dataContentType = "text/plain";
        }

        var dataField = "data";
        JsonNode? value;
        if (IsContentType(dataContentType, JsonContentType))
        {
            value = TryParse(data) ?? JsonValue.Create(Encoding.UTF8.GetString(data));
        }
        else if (IsContentType(dataContentType, OctetStream))
        {
            value = JsonValue.Create(Convert.ToBase64String(data));
            dataField = "data_base64";
        }
        else
        {
            value = JsonValue.Create(Encoding.UTF8.GetString(data));
        }

        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["specversion"] = "1.0",
            ["datacontenttype"] = dataContentType,
            ["source"] = string.IsNullOrEmpty(source) ? "Dapr" : source,
            ["type"] = "com.dapr.event.sent",
            ["topic"] = topic,
            ["pubsubname"] = pubsubName,
            ["traceid"] = traceParent,
            ["traceparent"] = traceParent,
            ["tracestate"] = traceState,
            ["time"] = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture).Replace("+00:00", "Z", StringComparison.Ordinal),
            [dataField] = value,
        };
        return Sorted(fields);
    }

    /// <summary>components-contrib contenttype/utils.go isContentType: case-insensitive, parameters after ';' ignored.</summary>
    public static bool IsContentType(string? contentType, string expected)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var media = semicolon >= 0 ? contentType[..semicolon] : contentType;
        return media.Equals(expected, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The W3C context of the span daprd starts for a call whose incoming metadata carries
    /// <paramref name="incoming"/> (dapr/dapr pkg/diagnostics/grpc_tracing.go@d8450742 lines 81-112 and 268-276:
    /// a child of the caller's span, so the same trace id and a new span id; a new trace without one).
    /// </summary>
    public static string ChildTraceParent(string? incoming)
    {
        Span<byte> span = stackalloc byte[8];
        RandomNumberGenerator.Fill(span);
        var spanId = Convert.ToHexStringLower(span);
        var parts = incoming?.Split('-');
        if (parts is { Length: 4 } && parts[0] == "00" && parts[1].Length == 32 && parts[2].Length == 16 && parts[3].Length == 2)
        {
            return $"00-{parts[1]}-{spanId}-{parts[3]}";
        }

        Span<byte> trace = stackalloc byte[16];
        RandomNumberGenerator.Fill(trace);
        return $"00-{Convert.ToHexStringLower(trace)}-{spanId}-01";
    }

    internal static JsonObject Sorted(IEnumerable<KeyValuePair<string, JsonNode?>> fields)
    {
        var result = new JsonObject();
        foreach (var (key, value) in fields.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            result[key] = value;
        }

        return result;
    }

    private static JsonObject FromCloudEvent(byte[] data, string topic, string pubsubName, string traceParent, string traceState)
    {
        if (JsonNode.Parse(data) is not JsonObject ce)
        {
            throw new JsonException("a cloudevents+json publish is not a JSON object");
        }

        ce["time"] ??= TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture);
        if (!ce.ContainsKey("traceid"))
        {
            ce["traceid"] = traceParent;
            ce["traceparent"] = traceParent;
        }

        if (!ce.ContainsKey("tracestate"))
        {
            ce["tracestate"] = traceState;
        }

        ce["topic"] = topic;
        ce["pubsubname"] = pubsubName;
        ce["source"] ??= "Dapr";
        ce["type"] ??= "com.dapr.event.sent";
        ce["specversion"] ??= "1.0";
        return Sorted([.. ce.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value?.DeepClone()))]);
    }

    private static JsonNode? TryParse(byte[] data)
    {
        try
        {
            return JsonNode.Parse(data);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

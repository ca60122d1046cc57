using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// Hand-built deliveries, for the contract tests that POST shapes daprd could send (and some it never does) straight
/// to the app's topic route: CloudEvents as <see cref="DaprCloudEvents"/> builds them (components-contrib
/// <c>pubsub.NewCloudEventsEnvelope</c> / <c>FromRawPayload</c>), single deliveries as
/// <c>application/cloudevents+json</c> (postman/http <c>Deliver</c>), bulk deliveries as <c>application/json</c>
/// envelopes <c>{id,type,topic,pubsubname,metadata,entries}</c> whose entries are <c>{entryId,event,metadata,contentType}</c>
/// (runtime/pubsub <c>BulkSubscribeMessageItem</c>). End-to-end tests use <see cref="DaprSidecarDouble.SubscribeAppAsync"/>
/// instead, which delivers what is really in the stream, when and how daprd would.
/// </summary>
public static class DaprdDeliveries
{
    public const string CloudEventContentType = "application/cloudevents+json";
    public const string BulkContentType = "application/json";
    public const string OctetStream = "application/octet-stream";

    /// <summary>The CloudEvent daprd wraps a publish in (<see cref="DaprCloudEvents"/>): binary content types go to <c>data_base64</c>.</summary>
    public static JsonObject CloudEvent(
        string topic, string pubsubName, byte[] data, string dataContentType = OctetStream, string? traceParent = null, string? traceState = null) =>
        DaprCloudEvents.WrapObject("cloudproxy", topic, pubsubName, dataContentType, data, traceParent ?? string.Empty, traceState ?? string.Empty);

    /// <summary>The CloudEvent daprd makes on the subscriber side for a <c>rawPayload</c> subscription.</summary>
    public static JsonObject RawPayloadCloudEvent(string topic, string pubsubName, byte[] data) => new()
    {
        ["id"] = Guid.NewGuid().ToString(),
        ["specversion"] = "1.0",
        ["datacontenttype"] = OctetStream,
        ["source"] = "Dapr",
        ["type"] = "com.dapr.event.sent",
        ["topic"] = topic,
        ["pubsubname"] = pubsubName,
        ["data_base64"] = Convert.ToBase64String(data),
    };

    /// <summary>The CloudEvent daprd builds from a publish the double recorded (trace context from its call metadata).</summary>
    public static JsonObject FromPublish(RecordedPublish publish)
    {
        ArgumentNullException.ThrowIfNull(publish);
        return CloudEvent(publish.Topic, publish.PubsubName, publish.Data, publish.DataContentType,
            Header(publish.Headers, "traceparent"), Header(publish.Headers, "tracestate"));
    }

    /// <summary>The CloudEvent daprd builds from one entry of a bulk publish the double recorded.</summary>
    public static JsonObject FromBulkEntry(RecordedBulkPublish publish, RecordedBulkEntry entry)
    {
        ArgumentNullException.ThrowIfNull(publish);
        ArgumentNullException.ThrowIfNull(entry);
        return CloudEvent(publish.Topic, publish.PubsubName, entry.Event, entry.ContentType, Header(publish.Headers, "traceparent"));
    }

    /// <summary>A bulk entry whose event is a CloudEvent (the usual case).</summary>
    public static JsonObject BulkEntry(string entryId, JsonNode cloudEvent) => new()
    {
        ["entryId"] = entryId,
        ["event"] = cloudEvent,
        ["metadata"] = new JsonObject(),
        ["contentType"] = CloudEventContentType,
    };

    /// <summary>A bulk entry of a <c>rawPayload</c> subscription: the raw message bytes, base64.</summary>
    public static JsonObject RawBulkEntry(string entryId, byte[] raw) => new()
    {
        ["entryId"] = entryId,
        ["event"] = Convert.ToBase64String(raw),
        ["metadata"] = new JsonObject(),
        ["contentType"] = OctetStream,
    };

    public static JsonObject BulkDelivery(string topic, string pubsubName, params JsonObject[] entries) => new()
    {
        ["id"] = Guid.NewGuid().ToString(),
        ["type"] = "com.dapr.event.sent.bulk",
        ["topic"] = topic,
        ["pubsubname"] = pubsubName,
        ["metadata"] = new JsonObject { ["pubsubName"] = pubsubName },
        ["entries"] = new JsonArray([.. entries]),
    };

    public static ByteArrayContent Content(JsonNode body, string contentType)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Content(Encoding.UTF8.GetBytes(body.ToJsonString()), contentType);
    }

    public static ByteArrayContent Content(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static string? Header(IReadOnlyList<KeyValuePair<string, string>> headers, string name) =>
        headers.Where(h => h.Key == name).Select(h => h.Value).FirstOrDefault();

}

using System.Buffers;
using System.Text;
using System.Text.Json;
using CloudProxy.Core.Envelopes;

namespace CloudProxy.Transport.Dapr.Subscriptions;

/// <summary>Why an entry is answered DROP before any handler sees it (also the metric label).</summary>
internal static class DropReason
{
    public const string Undecodable = "undecodable";
    public const string NoData = "no_data";
    public const string WrongTopic = "wrong_topic";
    public const string MalformedBody = "malformed_body";
    public const string Handler = "handler";
}

/// <summary>One entry of a delivery: an envelope for the handler, or the reason it is dropped.</summary>
internal readonly record struct DeliveryEntry(string? EntryId, Envelope? Envelope, string? DropReason, string? DropDetail)
{
    public static DeliveryEntry Drop(string? entryId, string reason, string detail) => new(entryId, null, reason, detail);
}

/// <summary>What daprd POSTed to a topic route: one CloudEvent, or a bulk delivery of many entries.</summary>
internal sealed record Delivery(bool IsBulk, IReadOnlyList<DeliveryEntry> Entries);

/// <summary>
/// Reads the shapes daprd delivers (dapr/dapr pkg/runtime/subscription): a CloudEvent whose
/// <c>data_base64</c> holds our envelope; the same with <c>data</c> as a (base64) string; a raw body
/// (binary-mode brokers); and the bulk envelope <c>{"entries":[{"entryId","event","contentType","metadata"}]}</c>
/// whose <c>event</c> is the CloudEvent object, or, for raw-payload subscriptions, the base64 of the raw bytes.
/// Never throws for bad input: whatever cannot yield an envelope becomes a DROP entry with its reason.
/// </summary>
internal static class DaprDeliveryReader
{
    public static Delivery Read(ReadOnlySequence<byte> body, string topic)
    {
        if (FirstNonWhitespace(body) != (byte)'{')
        {
            // Not JSON: a broker in binary mode hands daprd the raw message, which it forwards as the body.
            return Single(FromEnvelopeBytes(null, body.ToArray(), topic, DropReason.MalformedBody));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return Single(DeliveryEntry.Drop(null, DropReason.MalformedBody, $"body is not valid JSON: {ex.Message}"));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array)
            {
                var list = new List<DeliveryEntry>(entries.GetArrayLength());
                foreach (var entry in entries.EnumerateArray())
                {
                    list.Add(ReadBulkEntry(entry, topic));
                }

                return new Delivery(true, list);
            }

            return Single(FromCloudEvent(null, root, topic));
        }
    }

    private static Delivery Single(DeliveryEntry entry) => new(false, [entry]);

    private static DeliveryEntry ReadBulkEntry(JsonElement entry, string topic)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return DeliveryEntry.Drop(null, DropReason.MalformedBody, "bulk entry is not an object");
        }

        string? entryId = null;
        JsonElement? evt = null;
        foreach (var property in entry.EnumerateObject())
        {
            // daprd has spelled it both "entryId" and "entryID" across versions; Go's decoder ignores case.
            if (property.Name.Equals("entryId", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
            {
                entryId = property.Value.GetString();
            }
            else if (property.Name.Equals("event", StringComparison.OrdinalIgnoreCase))
            {
                evt = property.Value;
            }
        }

        if (evt is not { } value)
        {
            return DeliveryEntry.Drop(entryId, DropReason.NoData, "bulk entry has no event");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                return FromCloudEvent(entryId, value, topic);
            case JsonValueKind.String:
                // Raw-payload subscriptions: daprd sends base64 of the raw message bytes.
                if (!value.TryGetBytesFromBase64(out var raw))
                {
                    return DeliveryEntry.Drop(entryId, DropReason.Undecodable, "bulk entry event is a string but not base64");
                }

                return FirstNonWhitespace(new ReadOnlySequence<byte>(raw)) == (byte)'{'
                    ? FromCloudEventBytes(entryId, raw, topic)
                    : FromEnvelopeBytes(entryId, raw, topic, DropReason.Undecodable);
            default:
                return DeliveryEntry.Drop(entryId, DropReason.Undecodable, $"bulk entry event is a JSON {value.ValueKind}");
        }
    }

    private static DeliveryEntry FromCloudEventBytes(string? entryId, byte[] json, string topic)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return FromCloudEvent(entryId, document.RootElement, topic);
        }
        catch (JsonException ex)
        {
            return DeliveryEntry.Drop(entryId, DropReason.Undecodable, $"raw event is not valid JSON: {ex.Message}");
        }
    }

    private static DeliveryEntry FromCloudEvent(string? entryId, JsonElement cloudEvent, string topic)
    {
        if (cloudEvent.ValueKind != JsonValueKind.Object)
        {
            return DeliveryEntry.Drop(entryId, DropReason.Undecodable, $"CloudEvent is a JSON {cloudEvent.ValueKind}");
        }

        if (cloudEvent.TryGetProperty("data_base64", out var dataBase64) && dataBase64.ValueKind == JsonValueKind.String)
        {
            return dataBase64.TryGetBytesFromBase64(out var bytes)
                ? FromEnvelopeBytes(entryId, bytes, topic, DropReason.Undecodable)
                : DeliveryEntry.Drop(entryId, DropReason.Undecodable, "data_base64 is not base64");
        }

        if (!cloudEvent.TryGetProperty("data", out var data) || data.ValueKind == JsonValueKind.Null)
        {
            return DeliveryEntry.Drop(entryId, DropReason.NoData, "CloudEvent has neither data_base64 nor data");
        }

        if (data.ValueKind != JsonValueKind.String)
        {
            return DeliveryEntry.Drop(entryId, DropReason.Undecodable, $"CloudEvent data is a JSON {data.ValueKind}, not an envelope");
        }

        // A binary-mode broker message arrives as data holding base64 (Go marshals []byte that way); a
        // text/plain publish arrives as the string itself.
        var payload = data.TryGetBytesFromBase64(out var decoded) ? decoded : Encoding.UTF8.GetBytes(data.GetString()!);
        return FromEnvelopeBytes(entryId, payload, topic, DropReason.Undecodable);
    }

    private static DeliveryEntry FromEnvelopeBytes(string? entryId, byte[] bytes, string topic, string reason)
    {
        Envelope envelope;
        try
        {
            envelope = EnvelopeCodec.Decode(bytes);
        }
        catch (EnvelopeFormatException ex)
        {
            return DeliveryEntry.Drop(entryId, reason, $"not a CloudProxy envelope: {ex.Message}");
        }

        if (!string.Equals(envelope.Topic, topic, StringComparison.Ordinal))
        {
            return DeliveryEntry.Drop(entryId, DropReason.WrongTopic, $"envelope for topic '{envelope.Topic}' delivered on topic '{topic}'");
        }

        return new DeliveryEntry(entryId, envelope, null, null);
    }

    private static int FirstNonWhitespace(ReadOnlySequence<byte> body)
    {
        foreach (var segment in body)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    return b;
                }
            }
        }

        return -1;
    }
}

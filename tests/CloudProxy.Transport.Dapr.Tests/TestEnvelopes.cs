using System.Text.Json.Nodes;
using CloudProxy.Core.Envelopes;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.Transport.Dapr.Tests;

internal static class TestEnvelopes
{
    public const string Topic = "statsd-lines";
    public const string PubSub = "pubsub-test";

    /// <summary>Header a <see cref="SinkHandler"/> reads to decide the envelope's outcome.</summary>
    public const string OutcomeHeader = "x-test-outcome";

    public const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    public const string TraceState = "congo=t61rcWkgMzE";

    public static byte[] AllByteValues() => [.. Enumerable.Range(0, 256).Select(i => (byte)i)];

    public static Envelope Create(string topic = Topic, byte[]? payload = null, string? outcome = null, string? traceParent = TraceParent, string? key = "tenant-1")
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["content-type"] = "text/plain" };
        if (outcome is not null)
        {
            headers[OutcomeHeader] = outcome;
        }

        return new Envelope
        {
            Topic = topic,
            Kind = "test.bytes",
            Key = key,
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123),
            TraceParent = traceParent,
            TraceState = traceParent is null ? null : TraceState,
            Headers = headers,
            Payload = payload ?? AllByteValues(),
        };
    }

    public static byte[] Encode(Envelope envelope) => EnvelopeCodec.Encode(envelope);

    /// <summary>The CloudEvent daprd delivers for an envelope our publisher sent (octet-stream, so data_base64).</summary>
    public static JsonObject CloudEventOf(Envelope envelope) =>
        DaprdDeliveries.CloudEvent(envelope.Topic, PubSub, EnvelopeCodec.Encode(envelope), DaprdDeliveries.OctetStream, envelope.TraceParent, envelope.TraceState);

    /// <summary>Every field survived: the payload byte for byte, and the rest through the codec's own encoding.</summary>
    public static void AssertIntact(Envelope expected, Envelope actual)
    {
        Assert.Equal(expected.Payload.ToArray(), actual.Payload.ToArray());
        Assert.Equal(expected.Topic, actual.Topic);
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.ReceivedAt, actual.ReceivedAt);
        Assert.Equal(expected.TraceParent, actual.TraceParent);
        Assert.Equal(expected.TraceState, actual.TraceState);
        Assert.Equal(expected.Headers.OrderBy(h => h.Key), actual.Headers.OrderBy(h => h.Key));
        Assert.Equal(EnvelopeCodec.Encode(expected), EnvelopeCodec.Encode(actual));
    }
}

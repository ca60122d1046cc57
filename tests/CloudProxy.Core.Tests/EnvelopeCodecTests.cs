using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Tests;

public class EnvelopeCodecTests
{
    [Fact]
    public void Round_trip_keeps_every_field_and_binary_payload_intact()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var original = new Envelope
        {
            Topic = "statsd",
            Kind = "statsd.lines",
            Key = "tenant-é",
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE",
            Headers = new Dictionary<string, string> { ["X-Sentry-Auth"] = "Sentry sentry_key=abc" },
            Payload = payload,
        };

        var decoded = EnvelopeCodec.Decode(EnvelopeCodec.Encode(original));

        Assert.Equal(original.Topic, decoded.Topic);
        Assert.Equal(original.Kind, decoded.Kind);
        Assert.Equal(original.Key, decoded.Key);
        Assert.Equal(original.ReceivedAt, decoded.ReceivedAt);
        Assert.Equal(original.TraceParent, decoded.TraceParent);
        Assert.Equal(original.TraceState, decoded.TraceState);
        Assert.Equal("Sentry sentry_key=abc", decoded.Headers["x-sentry-auth"]);
        Assert.Equal(payload, decoded.Payload.ToArray());
    }

    [Fact]
    public void Null_optional_fields_stay_null()
    {
        var decoded = EnvelopeCodec.Decode(EnvelopeCodec.Encode(new Envelope { Topic = "t", Kind = "k" }));
        Assert.Null(decoded.Key);
        Assert.Null(decoded.TraceParent);
        Assert.Empty(decoded.Headers);
        Assert.Equal(0, decoded.Payload.Length);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9 })]
    [InlineData(new byte[] { 1, 5, 0, 65 })]
    public void Garbage_is_refused_with_a_format_error(byte[] bytes)
    {
        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Decode(bytes));
    }

    [Fact]
    public void Truncated_or_padded_envelopes_are_refused()
    {
        var bytes = EnvelopeCodec.Encode(new Envelope { Topic = "t", Kind = "k", Payload = new byte[] { 1, 2, 3 } });
        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Decode(bytes.AsMemory(0, bytes.Length - 1)));
        Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Decode(bytes.Concat(new byte[] { 0 }).ToArray()));
    }
}

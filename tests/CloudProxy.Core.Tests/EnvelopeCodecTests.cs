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

    [Fact]
    public void The_layout_is_the_documented_one_byte_for_byte()
    {
        // Spooled envelopes outlive a release: the layout must not drift. Version, topic "t", kind "k", null key,
        // received-at 1 ms, null traceparent/tracestate, one header ("a" = "é", two UTF-8 bytes), payload {7}.
        var bytes = EnvelopeCodec.Encode(new Envelope
        {
            Topic = "t",
            Kind = "k",
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(1),
            Headers = new Dictionary<string, string> { ["a"] = "é" },
            Payload = new byte[] { 7 },
        });

        byte[] expected =
        [
            1,
            1, 0, (byte)'t',
            1, 0, (byte)'k',
            0xFF, 0xFF,
            1, 0, 0, 0, 0, 0, 0, 0,
            0xFF, 0xFF,
            0xFF, 0xFF,
            1, 0,
            1, 0, (byte)'a', 2, 0, 0xC3, 0xA9,
            1, 0, 0, 0, 7,
        ];
        Assert.Equal(expected, bytes);
        Assert.Equal(expected.Length, EnvelopeCodec.GetEncodedLength(EnvelopeCodec.Decode(bytes)));
    }

    [Fact]
    public void A_string_field_over_the_u16_limit_or_a_short_destination_is_refused()
    {
        var huge = new Envelope { Topic = "t", Kind = "k", Headers = new Dictionary<string, string> { ["h"] = new string('x', 65_535) } };
        Assert.Throws<ArgumentException>(() => EnvelopeCodec.Encode(huge));

        var small = new Envelope { Topic = "t", Kind = "k" };
        var length = EnvelopeCodec.GetEncodedLength(small);
        Assert.ThrowsAny<ArgumentException>(() => EnvelopeCodec.Encode(small, new byte[length - 1]));
        var roomy = new byte[length + 5];
        Assert.Equal(length, EnvelopeCodec.Encode(small, roomy));
        Assert.Equal(EnvelopeCodec.Encode(small), roomy[..length]);
    }
}

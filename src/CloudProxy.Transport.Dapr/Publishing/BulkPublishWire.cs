using System.Buffers;
using CloudProxy.Core.Envelopes;
using Google.Protobuf;
using Grpc.Core;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Transport.Dapr.Publishing;

/// <summary>
/// One bulk publish request: entries <c>[Start, End)</c> of a batch, each sent as <c>application/octet-stream</c>
/// with its batch index as entry id. <paramref name="Lengths"/> holds every envelope's encoded length.
/// </summary>
internal sealed record BulkPublishEnvelopes(string PubsubName, string Topic, IReadOnlyList<Envelope> Batch, int[] Lengths, int Start, int End);

/// <summary>
/// Writes a <c>dapr.proto.runtime.v1.BulkPublishRequest</c> straight into gRPC's send buffer: each envelope is
/// encoded once, in place, instead of into an array of its own that protobuf then copies (and a
/// <c>BulkPublishRequestEntry</c> object per envelope). The bytes are those Google.Protobuf writes for the same
/// request (fields in number order, proto3: empty fields left out); a test compares the two.
/// The response is read with the generated parser.
/// </summary>
internal static class BulkPublishWire
{
    // BulkPublishRequest: pubsub_name = 1, topic = 2, entries = 3. BulkPublishRequestEntry: entry_id = 1,
    // event = 2, content_type = 3. Every one of them is length-delimited (wire type 2): tag = field << 3 | 2.
    private const byte PubsubNameTag = (1 << 3) | 2;
    private const byte TopicTag = (2 << 3) | 2;
    private const byte EntriesTag = (3 << 3) | 2;
    private const byte EntryIdTag = (1 << 3) | 2;
    private const byte EventTag = (2 << 3) | 2;
    private const byte ContentTypeTag = (3 << 3) | 2;

    private static readonly byte[] OctetStream = System.Text.Encoding.UTF8.GetBytes(DaprEnvelopePublisher.ContentType);

    public static Method<BulkPublishEnvelopes, Autogen.BulkPublishResponse> Stable { get; } = Create("BulkPublishEvent");

    public static Method<BulkPublishEnvelopes, Autogen.BulkPublishResponse> Alpha1 { get; } = Create("BulkPublishEventAlpha1");

    /// <summary>The request's protobuf bytes (what the gRPC marshaller writes).</summary>
    public static byte[] Serialize(BulkPublishEnvelopes request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var writer = new ArrayBufferWriter<byte>(Length(request));
        Write(request, writer);
        return writer.WrittenSpan.ToArray();
    }

    private static Method<BulkPublishEnvelopes, Autogen.BulkPublishResponse> Create(string name)
    {
        var service = Autogen.Dapr.Descriptor;
        _ = service.FindMethodByName(name) ?? throw new InvalidOperationException($"{name} is not part of {service.FullName} in Dapr.Protos");
        return new Method<BulkPublishEnvelopes, Autogen.BulkPublishResponse>(
            MethodType.Unary,
            service.FullName,
            name,
            Marshallers.Create<BulkPublishEnvelopes>(
                (request, context) =>
                {
                    context.SetPayloadLength(Length(request));
                    Write(request, context.GetBufferWriter());
                    context.Complete();
                },
                _ => throw new NotSupportedException("the publisher never receives a bulk publish request")),
            Marshallers.Create<Autogen.BulkPublishResponse>(
                (Autogen.BulkPublishResponse response, SerializationContext context) => context.Complete(response.ToByteArray()),
                (DeserializationContext context) => Autogen.BulkPublishResponse.Parser.ParseFrom(context.PayloadAsReadOnlySequence())));
    }

    private static int Length(BulkPublishEnvelopes request)
    {
        var length = StringFieldLength(request.PubsubName) + StringFieldLength(request.Topic);
        for (var i = request.Start; i < request.End; i++)
        {
            var entry = EntryLength(i, request.Lengths[i]);
            length += 1 + VarintLength((uint)entry) + entry;
        }

        return length;
    }

    private static void Write(BulkPublishEnvelopes request, IBufferWriter<byte> writer)
    {
        WriteStringField(writer, PubsubNameTag, request.PubsubName);
        WriteStringField(writer, TopicTag, request.Topic);
        Span<byte> id = stackalloc byte[10];
        for (var i = request.Start; i < request.End; i++)
        {
            var length = request.Lengths[i];
            WriteTag(writer, EntriesTag, EntryLength(i, length));

            i.TryFormat(id, out var idLength, default, System.Globalization.CultureInfo.InvariantCulture);
            WriteTag(writer, EntryIdTag, idLength);
            writer.Write(id[..idLength]);

            WriteTag(writer, EventTag, length);
            var written = EnvelopeCodec.Encode(request.Batch[i], writer.GetSpan(length)[..length]);
            if (written != length)
            {
                throw new InvalidOperationException($"envelope {i} encoded to {written} bytes, not the {length} measured");
            }

            writer.Advance(length);

            WriteTag(writer, ContentTypeTag, OctetStream.Length);
            writer.Write(OctetStream);
        }
    }

    private static int EntryLength(int index, int eventLength)
    {
        var idLength = DigitCount((uint)index);
        return (1 + VarintLength((uint)idLength) + idLength)
            + (1 + VarintLength((uint)eventLength) + eventLength)
            + (1 + VarintLength((uint)OctetStream.Length) + OctetStream.Length);
    }

    private static int StringFieldLength(string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(value);
        return bytes == 0 ? 0 : 1 + VarintLength((uint)bytes) + bytes;
    }

    private static void WriteStringField(IBufferWriter<byte> writer, byte tag, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(value);
        if (bytes == 0)
        {
            return;
        }

        WriteTag(writer, tag, bytes);
        var span = writer.GetSpan(bytes);
        System.Text.Encoding.UTF8.GetBytes(value, span);
        writer.Advance(bytes);
    }

    /// <summary>A tag byte followed by a length as a varint.</summary>
    private static void WriteTag(IBufferWriter<byte> writer, byte tag, int length)
    {
        var span = writer.GetSpan(6);
        span[0] = tag;
        var pos = 1;
        var value = (uint)length;
        while (value >= 0x80)
        {
            span[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[pos++] = (byte)value;
        writer.Advance(pos);
    }

    private static int VarintLength(uint value) => value switch
    {
        < 1u << 7 => 1,
        < 1u << 14 => 2,
        < 1u << 21 => 3,
        < 1u << 28 => 4,
        _ => 5,
    };

    private static int DigitCount(uint value)
    {
        var digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }
}

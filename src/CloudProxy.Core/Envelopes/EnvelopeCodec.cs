using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace CloudProxy.Core.Envelopes;

/// <summary>
/// Binary form of an <see cref="Envelope"/>, used for the spool and for the broker (published as
/// application/octet-stream, so Dapr carries it as CloudEvents <c>data_base64</c>, byte for byte).
/// Layout (little endian): version u8, topic, kind, key?, received-at unix ms i64, traceparent?,
/// tracestate?, header count u16 and pairs, payload length i32 and bytes. Strings are u16 length + UTF-8;
/// a null string is length 0xFFFF.
/// </summary>
public static class EnvelopeCodec
{
    private const ushort NullString = ushort.MaxValue;

    public static byte[] Encode(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var writer = new ArrayBufferWriter<byte>(envelope.Size + 64);
        Encode(envelope, writer);
        return writer.WrittenSpan.ToArray();
    }

    public static void Encode(Envelope envelope, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(writer);
        writer.GetSpan(1)[0] = Envelope.CurrentFormatVersion;
        writer.Advance(1);
        WriteString(writer, envelope.Topic);
        WriteString(writer, envelope.Kind);
        WriteString(writer, envelope.Key);
        BinaryPrimitives.WriteInt64LittleEndian(writer.GetSpan(8), envelope.ReceivedAt.ToUnixTimeMilliseconds());
        writer.Advance(8);
        WriteString(writer, envelope.TraceParent);
        WriteString(writer, envelope.TraceState);
        if (envelope.Headers.Count > ushort.MaxValue - 1)
        {
            throw new ArgumentException("Too many headers in envelope.", nameof(envelope));
        }

        BinaryPrimitives.WriteUInt16LittleEndian(writer.GetSpan(2), (ushort)envelope.Headers.Count);
        writer.Advance(2);
        foreach (var (name, value) in envelope.Headers)
        {
            WriteString(writer, name);
            WriteString(writer, value);
        }

        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), envelope.Payload.Length);
        writer.Advance(4);
        writer.Write(envelope.Payload.Span);
    }

    /// <summary>Reads an envelope; the payload is a slice of <paramref name="data"/>, not a copy.</summary>
    /// <exception cref="EnvelopeFormatException">The bytes are not an envelope this version can read.</exception>
    public static Envelope Decode(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        var pos = 0;
        if (span.Length < 1)
        {
            throw new EnvelopeFormatException("empty envelope");
        }

        var version = span[pos++];
        if (version != Envelope.CurrentFormatVersion)
        {
            throw new EnvelopeFormatException($"unsupported envelope format version {version}");
        }

        var topic = ReadString(span, ref pos) ?? throw new EnvelopeFormatException("envelope without topic");
        var kind = ReadString(span, ref pos) ?? throw new EnvelopeFormatException("envelope without kind");
        var key = ReadString(span, ref pos);
        var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(ReadInt64(span, ref pos));
        var traceParent = ReadString(span, ref pos);
        var traceState = ReadString(span, ref pos);
        var headerCount = ReadUInt16(span, ref pos);
        var headers = new Dictionary<string, string>(headerCount, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < headerCount; i++)
        {
            var name = ReadString(span, ref pos) ?? throw new EnvelopeFormatException("null header name");
            headers[name] = ReadString(span, ref pos) ?? string.Empty;
        }

        var length = ReadInt32(span, ref pos);
        if (length < 0 || length > span.Length - pos)
        {
            throw new EnvelopeFormatException("payload length exceeds envelope");
        }

        var payload = data.Slice(pos, length);
        if (pos + length != span.Length)
        {
            throw new EnvelopeFormatException("trailing bytes after payload");
        }

        return new Envelope
        {
            Topic = topic,
            Kind = kind,
            Key = key,
            ReceivedAt = receivedAt,
            TraceParent = traceParent,
            TraceState = traceState,
            Headers = headers,
            Payload = payload,
        };
    }

    private static void WriteString(IBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(writer.GetSpan(2), NullString);
            writer.Advance(2);
            return;
        }

        var byteCount = Encoding.UTF8.GetByteCount(value);
        if (byteCount >= NullString)
        {
            throw new ArgumentException("Envelope string field longer than 65534 bytes.", nameof(value));
        }

        var span = writer.GetSpan(2 + byteCount);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)byteCount);
        Encoding.UTF8.GetBytes(value, span[2..]);
        writer.Advance(2 + byteCount);
    }

    private static string? ReadString(ReadOnlySpan<byte> span, ref int pos)
    {
        var length = ReadUInt16(span, ref pos);
        if (length == NullString)
        {
            return null;
        }

        if (length > span.Length - pos)
        {
            throw new EnvelopeFormatException("string length exceeds envelope");
        }

        var value = Encoding.UTF8.GetString(span.Slice(pos, length));
        pos += length;
        return value;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> span, ref int pos)
    {
        if (span.Length - pos < 2)
        {
            throw new EnvelopeFormatException("truncated envelope");
        }

        var value = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
        pos += 2;
        return value;
    }

    private static int ReadInt32(ReadOnlySpan<byte> span, ref int pos)
    {
        if (span.Length - pos < 4)
        {
            throw new EnvelopeFormatException("truncated envelope");
        }

        var value = BinaryPrimitives.ReadInt32LittleEndian(span[pos..]);
        pos += 4;
        return value;
    }

    private static long ReadInt64(ReadOnlySpan<byte> span, ref int pos)
    {
        if (span.Length - pos < 8)
        {
            throw new EnvelopeFormatException("truncated envelope");
        }

        var value = BinaryPrimitives.ReadInt64LittleEndian(span[pos..]);
        pos += 8;
        return value;
    }
}

public sealed class EnvelopeFormatException : Exception
{
    public EnvelopeFormatException()
    {
    }

    public EnvelopeFormatException(string message)
        : base(message)
    {
    }

    public EnvelopeFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

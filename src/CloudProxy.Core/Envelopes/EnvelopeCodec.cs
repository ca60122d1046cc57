using System.Buffers.Binary;
using System.Diagnostics;
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

    /// <summary>Encodes into one array of exactly <see cref="GetEncodedLength"/> bytes (one allocation, one pass).</summary>
    public static byte[] Encode(Envelope envelope)
    {
        var bytes = new byte[GetEncodedLength(envelope)];
        var written = Encode(envelope, bytes);
        Debug.Assert(written == bytes.Length, "GetEncodedLength and Encode disagree");
        return bytes;
    }

    /// <summary>The length of the encoded form; checks the limits the format sets.</summary>
    /// <exception cref="ArgumentException">A string field is longer than 65,534 UTF-8 bytes, or there are too many headers.</exception>
    public static int GetEncodedLength(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Headers.Count > ushort.MaxValue - 1)
        {
            throw new ArgumentException("Too many headers in envelope.", nameof(envelope));
        }

        var length = 1 + StringLength(envelope.Topic) + StringLength(envelope.Kind) + StringLength(envelope.Key) + 8
            + StringLength(envelope.TraceParent) + StringLength(envelope.TraceState) + 2;
        foreach (var (name, value) in envelope.Headers)
        {
            length += StringLength(name) + StringLength(value);
        }

        return length + 4 + envelope.Payload.Length;
    }

    /// <summary>
    /// Writes the encoded form into <paramref name="destination"/>, which must hold <see cref="GetEncodedLength"/>
    /// bytes (a shorter one throws an <see cref="ArgumentException"/>); returns the number of bytes written.
    /// </summary>
    public static int Encode(Envelope envelope, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentOutOfRangeException.ThrowIfZero(destination.Length, nameof(destination));
        var pos = 0;
        destination[pos++] = Envelope.CurrentFormatVersion;
        WriteString(destination, ref pos, envelope.Topic);
        WriteString(destination, ref pos, envelope.Kind);
        WriteString(destination, ref pos, envelope.Key);
        BinaryPrimitives.WriteInt64LittleEndian(destination[pos..], envelope.ReceivedAt.ToUnixTimeMilliseconds());
        pos += 8;
        WriteString(destination, ref pos, envelope.TraceParent);
        WriteString(destination, ref pos, envelope.TraceState);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[pos..], (ushort)envelope.Headers.Count);
        pos += 2;
        foreach (var (name, value) in envelope.Headers)
        {
            WriteString(destination, ref pos, name);
            WriteString(destination, ref pos, value);
        }

        BinaryPrimitives.WriteInt32LittleEndian(destination[pos..], envelope.Payload.Length);
        pos += 4;
        envelope.Payload.Span.CopyTo(destination[pos..]);
        return pos + envelope.Payload.Length;
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

    private static int StringLength(string? value)
    {
        if (value is null)
        {
            return 2;
        }

        var byteCount = Encoding.UTF8.GetByteCount(value);
        return byteCount < NullString
            ? 2 + byteCount
            : throw new ArgumentException("Envelope string field longer than 65534 bytes.", nameof(value));
    }

    private static void WriteString(Span<byte> destination, ref int pos, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[pos..], NullString);
            pos += 2;
            return;
        }

        var written = Encoding.UTF8.GetBytes(value, destination[(pos + 2)..]);
        if (written >= NullString)
        {
            throw new ArgumentException("Envelope string field longer than 65534 bytes.", nameof(value));
        }

        BinaryPrimitives.WriteUInt16LittleEndian(destination[pos..], (ushort)written);
        pos += 2 + written;
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

using System.Buffers;

namespace CloudProxy.Bench.DaprSidecarStub;

/// <summary>What the stub keeps of a bulk publish request: how many entries carried an envelope, and their bytes.</summary>
public sealed record BulkPublishTally(int Entries, long Bytes, int Malformed);

/// <summary>
/// Reads a <c>dapr.proto.runtime.v1.BulkPublishRequest</c> off the wire without materialising it: walks the
/// protobuf fields, and for each <c>entries</c> (field 3) finds its <c>event</c> (field 2), checks that it begins
/// with the CloudProxy envelope format version byte and adds its length. The stub only counts, so parsing every
/// entry into a ByteString copy (what the generated parser does) would charge the shared cores for work daprd
/// does on its own cores in a deployment. Anything not protobuf-shaped is counted as malformed, never skipped.
/// </summary>
public static class BulkPublishCounter
{
    private const int EntriesField = 3;
    private const int EventField = 2;
    private const int LengthDelimited = 2;
    private const byte EnvelopeFormatVersion = 1;

    public static BulkPublishTally Count(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        int entries = 0, malformed = 0;
        long bytes = 0;
        while (!reader.End)
        {
            if (!TryReadField(ref reader, out var field, out var value))
            {
                return new BulkPublishTally(entries, bytes, malformed + 1);
            }

            if (field != EntriesField)
            {
                continue;
            }

            var length = EventLength(value);
            if (length > 0)
            {
                entries++;
                bytes += length;
            }
            else
            {
                malformed++;
            }
        }

        return new BulkPublishTally(entries, bytes, malformed);
    }

    /// <summary>The length of the entry's event, or 0 when it has none or it is not a CloudProxy envelope.</summary>
    private static long EventLength(ReadOnlySequence<byte> entry)
    {
        var reader = new SequenceReader<byte>(entry);
        while (!reader.End)
        {
            if (!TryReadField(ref reader, out var field, out var value))
            {
                return 0;
            }

            if (field == EventField)
            {
                return value.Length > 0 && value.FirstSpan[0] == EnvelopeFormatVersion ? value.Length : 0;
            }
        }

        return 0;
    }

    /// <summary>Reads one field; only length-delimited and varint fields occur in these messages.</summary>
    private static bool TryReadField(ref SequenceReader<byte> reader, out int field, out ReadOnlySequence<byte> value)
    {
        value = default;
        field = 0;
        if (!TryReadVarint(ref reader, out var tag))
        {
            return false;
        }

        field = (int)(tag >> 3);
        switch ((int)(tag & 7))
        {
            case 0:
                return TryReadVarint(ref reader, out _);
            case LengthDelimited:
                if (!TryReadVarint(ref reader, out var length) || length > (ulong)reader.Remaining)
                {
                    return false;
                }

                value = reader.UnreadSequence.Slice(0, (long)length);
                reader.Advance((long)length);
                return true;
            default:
                return false;
        }
    }

    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}

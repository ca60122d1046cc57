using System.Buffers.Binary;

namespace CloudProxy.Core.Storage;

/// <summary>
/// How records sit in a segment file. A segment starts with a 16-byte header (magic "CPLOG", format version,
/// reserved); then records, each a 12-byte header — magic u16 0xC1D0, flags u16, payload length u32,
/// CRC-32C u32 of the length and payload — and the payload. The record magic lets a reader find the next
/// record after damage (salvage), the CRC tells a torn or corrupt record from a good one. Little endian.
/// </summary>
internal static class LogRecordFormat
{
    public const int SegmentHeaderBytes = 16;
    public const int RecordHeaderBytes = 12;
    public const ushort RecordMagic = 0xC1D0;
    public const byte FormatVersion = 1;

    /// <summary>No record is larger (an envelope is bounded well below this by every ingress).</summary>
    public const int MaxPayloadBytes = 256 * 1024 * 1024;

    private static ReadOnlySpan<byte> SegmentMagic => "CPLOG"u8;

    public static void WriteSegmentHeader(Span<byte> destination)
    {
        destination[..SegmentHeaderBytes].Clear();
        SegmentMagic.CopyTo(destination);
        destination[5] = FormatVersion;
    }

    public static bool IsSegmentHeader(ReadOnlySpan<byte> header) =>
        header.Length >= SegmentHeaderBytes && header.StartsWith(SegmentMagic) && header[5] == FormatVersion;

    /// <summary>Writes the header for <paramref name="payload"/>, which must already sit right after it in <paramref name="record"/>.</summary>
    public static void WriteRecordHeader(Span<byte> record, int payloadLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(record, RecordMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(record[2..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], Checksum(record.Slice(4, 4), record.Slice(RecordHeaderBytes, payloadLength)));
    }

    /// <summary>What is at the start of <paramref name="data"/>.</summary>
    public static RecordStatus TryRead(ReadOnlySpan<byte> data, out int payloadLength)
    {
        payloadLength = 0;
        if (data.Length < RecordHeaderBytes)
        {
            return RecordStatus.Incomplete;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(data) != RecordMagic)
        {
            return RecordStatus.Corrupt;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (length > MaxPayloadBytes)
        {
            return RecordStatus.Corrupt;
        }

        payloadLength = (int)length;
        if (data.Length < RecordHeaderBytes + payloadLength)
        {
            return RecordStatus.Incomplete;
        }

        var expected = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        return Checksum(data.Slice(4, 4), data.Slice(RecordHeaderBytes, payloadLength)) == expected ? RecordStatus.Ok : RecordStatus.Corrupt;
    }

    // The length is covered too, so a flipped length bit is caught rather than read as a shorter record.
    private static uint Checksum(ReadOnlySpan<byte> length, ReadOnlySpan<byte> payload) => Crc32C.Compute(length, payload);
}

internal enum RecordStatus
{
    Ok = 0,

    /// <summary>Not enough bytes yet (the end of what was written, or a torn tail after a crash).</summary>
    Incomplete = 1,

    /// <summary>Not a record: bad magic, impossible length or wrong checksum.</summary>
    Corrupt = 2,
}

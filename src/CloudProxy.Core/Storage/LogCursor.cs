using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace CloudProxy.Core.Storage;

/// <summary>
/// Where the consumer of a <see cref="SegmentLog"/> stands, kept in a small file beside the segments: the
/// committed position (everything before it is done) and the in-flight end (everything before it may have
/// been handed on already, so after a crash it is counted as a possible duplicate). Written in one of two
/// slots in turn, each with a sequence number and a CRC, so a write torn by a power cut leaves the other
/// slot to read.
/// </summary>
internal sealed class LogCursor : IDisposable
{
    private const int SlotBytes = 48;
    private const uint Magic = 0x52435043; // "CPCR"

    private readonly SafeFileHandle _file;
    private readonly byte[] _slot = new byte[SlotBytes];
    private long _sequence;

    private LogCursor(SafeFileHandle file, long sequence, LogPosition committed, LogPosition inFlight)
    {
        _file = file;
        _sequence = sequence;
        Committed = committed;
        InFlight = inFlight;
    }

    public LogPosition Committed { get; private set; }

    public LogPosition InFlight { get; private set; }

    /// <summary>True when the file held no readable slot (new, or both slots damaged).</summary>
    public bool WasEmpty { get; private init; }

    public static LogCursor Open(string path)
    {
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var buffer = new byte[SlotBytes * 2];
        var read = RandomAccess.Read(file, buffer, 0);
        (long Sequence, LogPosition Committed, LogPosition InFlight)? best = null;
        for (var slot = 0; slot < 2; slot++)
        {
            if (read >= (slot + 1) * SlotBytes && TryParse(buffer.AsSpan(slot * SlotBytes, SlotBytes), out var parsed)
                && (best is null || parsed.Sequence > best.Value.Sequence))
            {
                best = parsed;
            }
        }

        return best is { } b
            ? new LogCursor(file, b.Sequence, b.Committed, b.InFlight)
            : new LogCursor(file, 0, default, default) { WasEmpty = true };
    }

    public void Write(LogPosition committed, LogPosition inFlight)
    {
        _sequence++;
        var span = _slot.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], _sequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], committed.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(span[20..], committed.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(span[28..], inFlight.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(span[36..], inFlight.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(span[44..], Crc32C.Compute(span[..44]));
        RandomAccess.Write(_file, _slot, (_sequence & 1) * SlotBytes);
        Committed = committed;
        InFlight = inFlight;
    }

    public void Flush() => RandomAccess.FlushToDisk(_file);

    public void Dispose() => _file.Dispose();

    private static bool TryParse(ReadOnlySpan<byte> slot, out (long Sequence, LogPosition Committed, LogPosition InFlight) parsed)
    {
        parsed = default;
        if (BinaryPrimitives.ReadUInt32LittleEndian(slot) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(slot[44..]) != Crc32C.Compute(slot[..44]))
        {
            return false;
        }

        parsed = (
            BinaryPrimitives.ReadInt64LittleEndian(slot[4..]),
            new LogPosition(BinaryPrimitives.ReadInt64LittleEndian(slot[12..]), BinaryPrimitives.ReadInt64LittleEndian(slot[20..])),
            new LogPosition(BinaryPrimitives.ReadInt64LittleEndian(slot[28..]), BinaryPrimitives.ReadInt64LittleEndian(slot[36..])));
        return true;
    }
}

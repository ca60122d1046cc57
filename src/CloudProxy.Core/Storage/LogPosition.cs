namespace CloudProxy.Core.Storage;

/// <summary>A place in a <see cref="SegmentLog"/>: the segment's number and a byte offset inside its file.</summary>
public readonly record struct LogPosition(long Segment, long Offset) : IComparable<LogPosition>
{
    public int CompareTo(LogPosition other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    public static bool operator <(LogPosition left, LogPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(LogPosition left, LogPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(LogPosition left, LogPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(LogPosition left, LogPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Segment}:{Offset}";
}

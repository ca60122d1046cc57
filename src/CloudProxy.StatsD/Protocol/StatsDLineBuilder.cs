using System.Buffers;
using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// Collects StatsD lines, each ending in <c>\n</c>, in a pooled buffer. One builder per request; the result
/// is copied once into the envelope payload with <see cref="ToArray"/>.
/// </summary>
public sealed class StatsDLineBuilder : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public StatsDLineBuilder(int initialCapacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 64));
    }

    /// <summary>Complete lines written so far.</summary>
    public int LineCount { get; private set; }

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>
    /// Writes one metric line: <c>prefix+key:value|type[|@rate][|#tags]\n</c>. The key and tags must already be
    /// validated (<see cref="StatsDKeyPolicy"/>).
    /// </summary>
    public void AppendMetric(
        ReadOnlySpan<byte> prefix,
        ReadOnlySpan<char> key,
        ReadOnlySpan<byte> value,
        StatsDMetricType type,
        double sampleRate,
        ReadOnlySpan<char> tags)
    {
        Append(prefix);
        Append(key);
        Append((byte)':');
        Append(value);
        Append((byte)'|');
        Append(StatsDMetricTypes.Suffix(type));
        if (sampleRate < 1)
        {
            Append("|@"u8);
            Span<byte> rate = stackalloc byte[StatsDNumber.MaxFormattedLength];
            Append(rate[..StatsDNumber.Format(sampleRate, rate)]);
        }

        if (!tags.IsEmpty)
        {
            Append("|#"u8);
            Append(tags);
        }

        EndLine();
    }

    public void Append(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void Append(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    public void Append(ReadOnlySpan<char> value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    public void EndLine()
    {
        Append((byte)'\n');
        LineCount++;
    }

    /// <summary>Forgets everything written after a point taken from <see cref="Length"/> and <see cref="LineCount"/>.</summary>
    public void Truncate(int length, int lineCount)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _length);
        _length = length;
        LineCount = lineCount;
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int extra)
    {
        if (_buffer.Length - _length >= extra)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}

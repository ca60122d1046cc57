namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// Collects StatsD lines, each ending in <c>\n</c>, in a pooled buffer. One builder per request; the result
/// is copied once into the envelope payload with <see cref="ToArray"/>.
/// </summary>
internal sealed class StatsDLineBuilder : IDisposable
{
    private readonly StatsDPooledBuffer _buffer;

    public StatsDLineBuilder(int initialCapacity = 256) => _buffer = new StatsDPooledBuffer(initialCapacity);

    /// <summary>Complete lines written so far.</summary>
    public int LineCount { get; private set; }

    public int Length => _buffer.Length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

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

    public void Append(byte value) => _buffer.Append(value);

    public void Append(ReadOnlySpan<byte> value) => _buffer.Append(value);

    public void Append(ReadOnlySpan<char> value) => _buffer.Append(value);

    public void EndLine()
    {
        Append((byte)'\n');
        LineCount++;
    }

    /// <summary>Forgets everything written after a point taken from <see cref="Length"/> and <see cref="LineCount"/>.</summary>
    public void Truncate(int length, int lineCount)
    {
        _buffer.Truncate(length);
        LineCount = lineCount;
    }

    public byte[] ToArray() => _buffer.ToArray();

    public void Dispose() => _buffer.Dispose();
}

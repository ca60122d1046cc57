namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// One packet the forwarder sends: a slice of the packer's buffer, how many lines it holds, and the first
/// batch item (envelope) whose lines it carries, so that a failed send knows which envelopes to retry.
/// </summary>
internal readonly record struct StatsDDatagram(int Offset, int Length, int LineCount, int FirstItem, bool Oversize);

/// <summary>
/// Packs newline-terminated StatsD lines into datagrams of at most <c>maxDatagramBytes</c>, never splitting a
/// line. Lines in a datagram are joined by <c>\n</c> (no trailing newline) for UDP; with
/// <c>terminateLines</c> every line keeps its <c>\n</c> (TCP, where the newline is the only delimiter). A
/// line longer than the limit goes alone in its own datagram, flagged <see cref="StatsDDatagram.Oversize"/>.
/// </summary>
internal sealed class StatsDDatagramPacker : IDisposable
{
    private readonly int _max;
    private readonly bool _terminateLines;
    private readonly List<StatsDDatagram> _datagrams = [];
    private readonly StatsDPooledBuffer _buffer;
    private int _start;
    private int _lines;
    private int _firstItem;

    public StatsDDatagramPacker(int maxDatagramBytes, bool terminateLines = false, int capacityHint = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDatagramBytes, 1);
        _max = maxDatagramBytes;
        _terminateLines = terminateLines;
        _buffer = new StatsDPooledBuffer(Math.Max(capacityHint, 256));
    }

    public IReadOnlyList<StatsDDatagram> Datagrams => _datagrams;

    /// <summary>Lines packed so far.</summary>
    public int LineCount { get; private set; }

    /// <summary>Adds every non-empty line of <paramref name="lines"/> (each ending in <c>\n</c>; a missing last newline is tolerated).</summary>
    public void Add(ReadOnlySpan<byte> lines, int item)
    {
        while (!lines.IsEmpty)
        {
            var newline = lines.IndexOf((byte)'\n');
            var line = newline < 0 ? lines : lines[..newline];
            lines = newline < 0 ? default : lines[(newline + 1)..];
            if (!line.IsEmpty)
            {
                AddLine(line, item);
            }
        }
    }

    /// <summary>Closes the datagram being filled. Call once after the last <see cref="Add"/>.</summary>
    public void Complete()
    {
        if (_lines > 0)
        {
            Flush(oversize: false);
        }
    }

    public ReadOnlyMemory<byte> GetBytes(StatsDDatagram datagram) => _buffer.Slice(datagram.Offset, datagram.Length);

    public void Dispose() => _buffer.Dispose();

    private void AddLine(ReadOnlySpan<byte> line, int item)
    {
        LineCount++;
        var alone = _terminateLines ? line.Length + 1 : line.Length;
        if (_lines > 0 && _buffer.Length - _start + 1 + line.Length > _max)
        {
            Flush(oversize: false);
        }

        if (_lines == 0)
        {
            _firstItem = item;
        }
        else if (!_terminateLines)
        {
            _buffer.Append((byte)'\n');
        }

        _buffer.Append(line);
        if (_terminateLines)
        {
            _buffer.Append((byte)'\n');
        }

        _lines++;
        if (_lines == 1 && alone > _max)
        {
            Flush(oversize: true);
        }
    }

    private void Flush(bool oversize)
    {
        _datagrams.Add(new StatsDDatagram(_start, _buffer.Length - _start, _lines, _firstItem, oversize));
        _start = _buffer.Length;
        _lines = 0;
    }
}

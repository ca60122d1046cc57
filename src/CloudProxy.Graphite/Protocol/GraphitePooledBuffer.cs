using CloudProxy.Core.Buffers;

namespace CloudProxy.Graphite.Protocol;

/// <summary>A growable byte buffer (pooled while small, see <see cref="BodyArrayPool"/>); one copy out at the end (<see cref="ToArray"/>).</summary>
internal sealed class GraphitePooledBuffer : IDisposable
{
    private byte[] _buffer;

    public GraphitePooledBuffer(int capacity) => _buffer = BodyArrayPool.Rent(Math.Max(capacity, 256));

    public int Length { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    /// <summary>A span of at least <paramref name="size"/> free bytes; call <see cref="Advance"/> after writing.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (Length + size > _buffer.Length)
        {
            var bigger = BodyArrayPool.Rent(Math.Max(_buffer.Length * 2, Length + size));
            _buffer.AsSpan(0, Length).CopyTo(bigger);
            BodyArrayPool.Return(_buffer);
            _buffer = bigger;
        }

        return _buffer.AsSpan(Length);
    }

    /// <summary>Memory of exactly <paramref name="size"/> free bytes (for async reads); call <see cref="Advance"/> after.</summary>
    public Memory<byte> GetMemory(int size)
    {
        GetSpan(size);
        return _buffer.AsMemory(Length, size);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Clear() => Length = 0;

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        Length = 0;
        if (buffer.Length > 0)
        {
            BodyArrayPool.Return(buffer);
        }
    }
}

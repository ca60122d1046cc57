using CloudProxy.Core.Buffers;
using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>A growable byte buffer rented from the shared pool: what line building and packing write into.</summary>
internal sealed class StatsDPooledBuffer : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public StatsDPooledBuffer(int initialCapacity) =>
        _buffer = BodyArrayPool.Rent(Math.Max(initialCapacity, 64));

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Slice(int offset, int length) => _buffer.AsMemory(offset, length);

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

    /// <summary>Forgets everything written after <paramref name="length"/>.</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _length);
        _length = length;
    }

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            BodyArrayPool.Return(buffer);
        }
    }

    private void Ensure(int extra)
    {
        if (_buffer.Length - _length >= extra)
        {
            return;
        }

        var bigger = BodyArrayPool.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        BodyArrayPool.Return(_buffer);
        _buffer = bigger;
    }
}

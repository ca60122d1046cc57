using CloudProxy.Core.Buffers;

namespace CloudProxy.Sentry.Protocol;

/// <summary>
/// A body read in 64 KiB pooled chunks, copied once into an array of exactly its size at the end. Growing one
/// array by doubling would copy a 100 MiB body seven times and hold 192 MiB at its peak; chunks below the
/// large-object threshold are cheap for the GC and never retained by the pool beyond a few.
/// </summary>
internal sealed class SentryBodyBuffer : IDisposable
{
    private const int ChunkBytes = 64 * 1024;

    private readonly List<byte[]> _chunks = [];
    private int _used = ChunkBytes;

    public long Length { get; private set; }

    /// <summary>Free room in the current chunk (a new one when it is full); call <see cref="Advance"/> after reading into it.</summary>
    public Memory<byte> GetMemory()
    {
        if (_used == ChunkBytes)
        {
            _chunks.Add(BodyArrayPool.Rent(ChunkBytes));
            _used = 0;
        }

        return _chunks[^1].AsMemory(_used, ChunkBytes - _used);
    }

    public void Advance(int count)
    {
        _used += count;
        Length += count;
    }

    public byte[] ToArray()
    {
        if (Length == 0)
        {
            return [];
        }

        var result = GC.AllocateUninitializedArray<byte>(checked((int)Length));
        var offset = 0;
        for (var i = 0; i < _chunks.Count; i++)
        {
            var count = i == _chunks.Count - 1 ? _used : ChunkBytes;
            _chunks[i].AsSpan(0, count).CopyTo(result.AsSpan(offset));
            offset += count;
        }

        return result;
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks)
        {
            BodyArrayPool.Return(chunk);
        }

        // The pool keeps only a few chunks: the rest is garbage the GC should give back (MemoryTrim).
        if (_chunks.Count > 16)
        {
            BodyArrayPool.NoteReleased((long)_chunks.Count * ChunkBytes);
        }

        _chunks.Clear();
    }
}

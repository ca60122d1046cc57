using System.Buffers;

namespace CloudProxy.Core.Buffers;

/// <summary>
/// Arrays for request bodies and what is built from them. <see cref="ArrayPool{T}.Shared"/> keeps what it is
/// given back (arrays up to 1 GiB, several per size and core): after a few decompression bombs it would hold
/// hundreds of megabytes for good. So only arrays up to <see cref="MaxPooledBytes"/> go through it; larger ones
/// are plain allocations the GC takes back once the request is done.
/// </summary>
public static class BodyArrayPool
{
    /// <summary>The largest array rented from and returned to the shared pool.</summary>
    public const int MaxPooledBytes = 1024 * 1024;

    public static byte[] Rent(int minimumLength) =>
        minimumLength <= MaxPooledBytes ? ArrayPool<byte>.Shared.Rent(minimumLength) : GC.AllocateUninitializedArray<byte>(minimumLength);

    private static long _released;

    public static void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length is > 0 and <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
        else if (array.Length > MaxPooledBytes)
        {
            NoteReleased(array.Length);
        }
    }

    /// <summary>A body buffer of this many bytes was let go (for <see cref="MemoryTrim"/>).</summary>
    public static void NoteReleased(long bytes) => Interlocked.Add(ref _released, bytes);

    /// <summary>Bytes of body buffers let go since the last call.</summary>
    public static long TakeReleased() => Interlocked.Exchange(ref _released, 0);
}

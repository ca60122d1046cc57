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

    public static void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length is > 0 and <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}

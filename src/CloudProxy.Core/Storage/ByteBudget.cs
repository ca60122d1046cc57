namespace CloudProxy.Core.Storage;

/// <summary>
/// A byte bound shared by several logs: the disk bound of every file under the spool folder, or the memory
/// bound of every log's cached head. Reservations are taken before bytes are written and given back when the
/// bytes are gone (a segment file deleted, a cached chunk read).
/// </summary>
public sealed class ByteBudget(long maxBytes)
{
    private long _used;

    public long MaxBytes { get; } = maxBytes;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> if the total stays within <paramref name="limit"/> (at most <see cref="MaxBytes"/>).</summary>
    public bool TryReserve(long bytes, long limit)
    {
        limit = Math.Min(limit, MaxBytes);
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    public bool TryReserve(long bytes) => TryReserve(bytes, MaxBytes);

    /// <summary>Counts bytes that already exist (files found at start-up), even past the bound.</summary>
    public void Add(long bytes) => Interlocked.Add(ref _used, bytes);

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}

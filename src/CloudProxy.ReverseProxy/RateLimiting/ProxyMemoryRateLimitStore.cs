using System.Collections.Concurrent;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Partitions in this process, decided by <see cref="ProxyRateLimitMath"/> on the injected clock. The
/// partition key carries the limit, so a route whose limit changes on reload gets fresh partitions. Idle
/// partitions (full again) are swept now and then, so the table does not grow with every client ever seen.
/// </summary>
internal sealed class ProxyMemoryRateLimitStore(TimeProvider time) : IProxyRateLimitStore
{
    private const long SweepEveryMs = 30_000;

    private readonly ConcurrentDictionary<(string Partition, ProxyRateLimit Limit), State> _partitions = new();
    private long _lastSweepMs;

    public int Count => _partitions.Count;

    public ValueTask<ProxyRateLimitDecision> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        SweepIfDue(now);
        var state = _partitions.GetOrAdd((partition, limit), static (k, now) => new State(k.Limit, now), now);
        lock (state)
        {
            state.LastUsedMs = now;
            return ValueTask.FromResult(limit.Algorithm == RateLimitAlgorithm.SlidingWindow
                ? ProxyRateLimitMath.TakeSliding(ref state.Window, ref state.Current, ref state.Previous, now, limit)
                : ProxyRateLimitMath.TakeToken(ref state.Tokens, ref state.LastMs, now, limit));
        }
    }

    private void SweepIfDue(long now)
    {
        var last = Volatile.Read(ref _lastSweepMs);
        if (now - last < SweepEveryMs || Interlocked.CompareExchange(ref _lastSweepMs, now, last) != last)
        {
            return;
        }

        foreach (var (key, state) in _partitions)
        {
            // Idle long enough to be full again: dropping it changes nothing a client could notice.
            if (now - Volatile.Read(ref state.LastUsedMs) > state.IdleAfterMs)
            {
                _partitions.TryRemove(new KeyValuePair<(string, ProxyRateLimit), State>(key, state));
            }
        }
    }

    private sealed class State(ProxyRateLimit limit, long now)
    {
        public readonly long IdleAfterMs = Math.Max(2 * ProxyRateLimitMath.WindowMs,
            (long)(Math.Max(1, limit.Burst) * ProxyRateLimitMath.WindowMs / (double)Math.Max(1, limit.PerMinute)));

        public double Tokens = Math.Max(1, limit.Burst);
        public long LastMs = now;
        public long Window = now / ProxyRateLimitMath.WindowMs;
        public int Current;
        public int Previous;
        public long LastUsedMs = now;
    }
}

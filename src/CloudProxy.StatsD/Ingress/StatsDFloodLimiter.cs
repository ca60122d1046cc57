using System.Collections.Concurrent;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// A token bucket per key (a client IP or a JWT), in this process: each request takes one token; tokens come
/// back at <c>rate</c> a second up to <c>burst</c>. A refused request learns how long until the next token
/// (the Retry-After). The table is bounded: past <see cref="MaxTracked"/> keys, buckets that have refilled
/// (idle keys, which would start full anyway) are forgotten, and if that is not enough the table starts afresh.
/// </summary>
internal sealed class StatsDFloodLimiter<TKey>
    where TKey : notnull
{
    public const int MaxTracked = 100_000;

    private readonly ConcurrentDictionary<TKey, Bucket> _buckets = new();
    private readonly double _rate;
    private readonly double _burst;
    private readonly TimeProvider _time;

    public StatsDFloodLimiter(double perSecond, double burst, TimeProvider time)
    {
        _rate = perSecond;
        _burst = burst > 0 ? burst : Math.Max(1, perSecond);
        _time = time;
    }

    public bool Enabled => _rate > 0;

    /// <summary>
    /// Takes one token for <paramref name="key"/>. False when the bucket is empty; then
    /// <paramref name="retryAfterSeconds"/> is the whole seconds (at least 1) until a token is back.
    /// </summary>
    public bool TryTake(TKey key, out int retryAfterSeconds)
    {
        retryAfterSeconds = 0;
        if (!Enabled)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (_buckets.Count >= MaxTracked)
            {
                Sweep(now);
            }

            bucket = _buckets.GetOrAdd(key, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: _burst, Now: now));
        }

        lock (bucket)
        {
            var elapsed = _time.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            if (elapsed > 0)
            {
                bucket.Tokens = Math.Min(_burst, bucket.Tokens + (elapsed * _rate));
                bucket.Stamp = now;
            }

            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                return true;
            }

            retryAfterSeconds = (int)Math.Clamp(Math.Ceiling((1 - bucket.Tokens) / _rate), 1, int.MaxValue);
            return false;
        }
    }

    /// <summary>Keys tracked now (for tests and the bound).</summary>
    public int Count => _buckets.Count;

    private void Sweep(long now)
    {
        var full = _burst / _rate;
        foreach (var (key, bucket) in _buckets)
        {
            if (_time.GetElapsedTime(bucket.Stamp, now).TotalSeconds >= full)
            {
                _buckets.TryRemove(key, out _);
            }
        }

        if (_buckets.Count >= MaxTracked)
        {
            _buckets.Clear();
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}

using System.Collections.Concurrent;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// Optional per-key / per-project ingress quotas: a token bucket per name refilled at the configured rate
/// with one second of burst. The table is bounded: past <see cref="MaxTracked"/> names it starts afresh.
/// </summary>
internal sealed class SentryQuota(double perSecond, TimeProvider time)
{
    private const int MaxTracked = 10_000;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public bool Enabled => perSecond > 0;

    public bool TryTake(string name)
    {
        if (!Enabled)
        {
            return true;
        }

        if (_buckets.Count > MaxTracked)
        {
            _buckets.Clear();
        }

        var bucket = _buckets.GetOrAdd(name, _ => new Bucket(Math.Max(1, perSecond), time.GetTimestamp()));
        lock (bucket)
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Stamp = now;
            bucket.Tokens = Math.Min(Math.Max(1, perSecond), bucket.Tokens + (elapsed * perSecond));
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens -= 1;
            return true;
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}

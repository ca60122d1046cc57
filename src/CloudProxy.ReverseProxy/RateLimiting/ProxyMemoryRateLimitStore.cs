using System.Threading.RateLimiting;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Partitions in this process, on .NET's own token bucket and sliding window limiters; idle partitions are
/// dropped by <see cref="PartitionedRateLimiter"/>. The partition key carries the limit, so a route whose
/// limit changes on reload gets fresh partitions.
/// </summary>
public sealed class ProxyMemoryRateLimitStore : IProxyRateLimitStore, IDisposable
{
    private readonly PartitionedRateLimiter<(string Partition, ProxyRateLimit Limit)> _limiter =
        PartitionedRateLimiter.Create<(string Partition, ProxyRateLimit Limit), (string, ProxyRateLimit)>(key => key.Limit.Algorithm switch
        {
            RateLimitAlgorithm.SlidingWindow => RateLimitPartition.GetSlidingWindowLimiter(key, k => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = k.Limit.PerMinute, Window = TimeSpan.FromMinutes(1), SegmentsPerWindow = 12, QueueLimit = 0, AutoReplenishment = true,
            }),
            _ => RateLimitPartition.GetTokenBucketLimiter(key, k => TokenBucket(k.Limit)),
        });

    public ValueTask<(bool Allowed, TimeSpan RetryAfter)> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken)
    {
        using var lease = _limiter.AttemptAcquire((partition, limit));
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult((true, TimeSpan.Zero));
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : RetryAfterFallback(limit);
        return ValueTask.FromResult((false, retryAfter));
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>Refills smoothly: once a second for fast limits, once per permit for slow ones (2 a minute = one every 30 s).</summary>
    internal static TokenBucketRateLimiterOptions TokenBucket(ProxyRateLimit limit) => limit.PerMinute >= 60
        ? new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, limit.Burst), TokensPerPeriod = Math.Max(1, limit.PerMinute / 60), ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0, AutoReplenishment = true,
        }
        : new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, limit.Burst), TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromSeconds(60.0 / Math.Max(1, limit.PerMinute)),
            QueueLimit = 0, AutoReplenishment = true,
        };

    private static TimeSpan RetryAfterFallback(ProxyRateLimit limit) =>
        limit.Algorithm == RateLimitAlgorithm.SlidingWindow ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60.0 / Math.Max(1, limit.PerMinute));
}

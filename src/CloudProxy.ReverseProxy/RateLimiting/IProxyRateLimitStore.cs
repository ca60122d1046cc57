namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>One limit: <paramref name="PerMinute"/> requests a minute, bursts up to <paramref name="Burst"/> (token bucket).</summary>
internal readonly record struct ProxyRateLimit(int PerMinute, int Burst, RateLimitAlgorithm Algorithm);

/// <summary>
/// What the limiter decided and the partition's state right after: the permits left and how long until one
/// more is available (zero when the partition is full). Refused: <see cref="Reset"/> is the wait for a permit.
/// </summary>
internal readonly record struct ProxyRateLimitDecision(bool Allowed, int Remaining, TimeSpan Reset);

/// <summary>Where partitions live: this process or Redis (shared by replicas). Both run <see cref="ProxyRateLimitMath"/>.</summary>
internal interface IProxyRateLimitStore
{
    /// <summary>Takes one permit from <paramref name="partition"/> and reports the partition's state after it.</summary>
    ValueTask<ProxyRateLimitDecision> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken);
}

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>One limit: <paramref name="PerMinute"/> requests a minute, bursts up to <paramref name="Burst"/> (token bucket).</summary>
public readonly record struct ProxyRateLimit(int PerMinute, int Burst, RateLimitAlgorithm Algorithm);

/// <summary>Where partitions live: this process (System.Threading.RateLimiting) or Redis (shared by replicas).</summary>
public interface IProxyRateLimitStore
{
    /// <summary>Takes one permit from <paramref name="partition"/>; when refused, how long until one is likely free.</summary>
    ValueTask<(bool Allowed, TimeSpan RetryAfter)> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken);
}

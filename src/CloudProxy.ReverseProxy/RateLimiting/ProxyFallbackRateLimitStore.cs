using CloudProxy.Core.Logging;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.Extensions.Logging;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// The shared (Redis) limiter with a local one behind it: when Redis fails or is slow, the check is counted
/// and answered by this replica's own limiter, and Redis is left alone for the outage back-off. During an
/// outage each replica enforces the limit alone (looser across replicas, never unlimited, never a 5xx).
/// </summary>
internal sealed partial class ProxyFallbackRateLimitStore(
    IProxyRateLimitStore shared, IProxyRateLimitStore local, ProxyCacheOptions timing, ProxyMetrics metrics, TimeProvider time,
    ILogger<ProxyFallbackRateLimitStore> logger) : IProxyRateLimitStore
{
    private readonly LogThrottle _sharedStoreFailedLog = new(time);
    private long _skipUntilTimestamp;

    public async ValueTask<ProxyRateLimitDecision> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken)
    {
        if (time.GetTimestamp() >= Volatile.Read(ref _skipUntilTimestamp))
        {
            try
            {
                return await shared.TryAcquireAsync(partition, limit, cancellationToken).AsTask()
                    .WaitAsync(TimeSpan.FromMilliseconds(timing.StoreTimeoutMs), time, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                metrics.RateLimitStoreErrors.Inc();
                Volatile.Write(ref _skipUntilTimestamp, time.GetTimestamp() + (long)(timing.OutageBackoffSeconds * time.TimestampFrequency));
                if (_sharedStoreFailedLog.ShouldLog(out var failures))
                {
                    Log.SharedStoreFailed(logger, failures, timing.OutageBackoffSeconds, ex);
                }

            }
        }

        return await local.TryAcquireAsync(partition, limit, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.SharedRateLimitStoreFailed, Level = LogLevel.Warning,
            Message = "Shared rate-limit store failed ({Count} outage(s) since the last report); this replica limits alone for {BackoffSeconds} s")]
        public static partial void SharedStoreFailed(ILogger logger, long count, double backoffSeconds, Exception exception);
    }
}

using CloudProxy.Core.Logging;
using CloudProxy.Core.State;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.Extensions.Logging;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// The cache's view of the state store: every call bounded by a timeout, every failure counted and answered
/// as a miss (or a skipped write), so a store outage degrades the proxy to pass-through, never to a 5xx.
/// After a failure the store is left alone for a short back-off, so an outage does not add the timeout to
/// every request.
/// </summary>
internal sealed partial class ProxyCacheStore(IStateStore store, ProxyCacheOptions options, ProxyMetrics metrics, TimeProvider time, ILogger<ProxyCacheStore> logger)
{
    // The memory store hands back the same byte[] for every hit on an entry: decode it once, not per hit.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<byte[], ProxyCachedResponse> _decoded = [];
    private readonly LogThrottle _storeFailedLog = new(time);
    private long _skipUntilTimestamp;

    public IStateStore Inner => store;

    public async Task<ProxyCachedResponse?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var bytes = await RunAsync("get", ct => store.GetAsync(key, ct), cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        if (_decoded.TryGetValue(bytes, out var known))
        {
            return known;
        }

        var entry = ProxyCachedResponse.Deserialize(bytes);
        if (entry is not null && store is ProxyMemoryStore)
        {
            _decoded.AddOrUpdate(bytes, entry);
        }

        return entry;
    }

    public Task SetAsync(string key, ProxyCachedResponse entry, TimeSpan ttl, CancellationToken cancellationToken) =>
        RunAsync<byte[]>("set", async ct =>
        {
            await store.SetAsync(key, entry.Serialize(), ttl, ct);
            return null;
        }, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        RunAsync<byte[]>("delete", async ct =>
        {
            await store.DeleteAsync(key, ct);
            return null;
        }, cancellationToken);

    private async Task<T?> RunAsync<T>(string operation, Func<CancellationToken, Task<T?>> call, CancellationToken cancellationToken)
        where T : class
    {
        if (time.GetTimestamp() < Volatile.Read(ref _skipUntilTimestamp))
        {
            return null;
        }

        try
        {
            // The memory store answers synchronously: no timer for it. Others get the timeout; a call that
            // outlives it is left to finish (Redis's and Dapr's clients bound it) while the request moves on.
            var task = call(cancellationToken);
            return task.IsCompleted ? await task : await task.WaitAsync(TimeSpan.FromMilliseconds(options.StoreTimeoutMs), time, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Any store failure (connection refused, timeout, Dapr sidecar down, bad answer) is an outage here.
            metrics.CacheStoreErrors.WithLabels(operation).Inc();
            var backoff = (long)(options.OutageBackoffSeconds * time.TimestampFrequency);
            Volatile.Write(ref _skipUntilTimestamp, time.GetTimestamp() + backoff);
            if (_storeFailedLog.ShouldLog(out var failures))
            {
                Log.StoreFailed(logger, operation, failures, options.OutageBackoffSeconds, ex);
            }

            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.CacheStoreFailed, Level = LogLevel.Warning,
            Message = "Cache store {Operation} failed ({Count} outage(s) since the last report); passing requests through for {BackoffSeconds} s")]
        public static partial void StoreFailed(ILogger logger, string operation, long count, double backoffSeconds, Exception exception);
    }
}

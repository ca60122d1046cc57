using System.Collections.Concurrent;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// Stampede protection: the first request to miss a key fetches it; others for the same key wait for that
/// fetch (bounded) and then look the store up again. Per process: replicas sharing Redis each fetch once.
/// </summary>
internal sealed class ProxyCacheCoalescer
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Returns a lease when this request is the one to fetch; otherwise the task to wait for.</summary>
    public (Lease? Lease, Task? Wait) Enter(string key)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var current = _inFlight.GetOrAdd(key, mine);
        return ReferenceEquals(current, mine) ? (new Lease(this, key, mine), null) : (null, current.Task);
    }

    public sealed class Lease(ProxyCacheCoalescer owner, string key, TaskCompletionSource source) : IDisposable
    {
        public void Dispose()
        {
            owner._inFlight.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, source));
            source.TrySetResult();
        }
    }
}

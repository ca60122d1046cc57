using CloudProxy.Core.State;
using Microsoft.Extensions.Caching.Memory;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>The embedded cache store: process memory, bounded in bytes, entries expiring by themselves.</summary>
internal sealed class ProxyMemoryStore(long maxBytes, TimeProvider time) : IStateStore, IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = maxBytes, Clock = new TimeProviderClock(time) });

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(_cache.TryGetValue<byte[]>(key, out var value) ? value : null);

    public Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        var options = new MemoryCacheEntryOptions { Size = value.Length + key.Length };
        if (timeToLive is { } ttl)
        {
            options.AbsoluteExpirationRelativeToNow = ttl;
        }

        _cache.Set(key, value.ToArray(), options);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        _cache.Remove(key);
        return Task.CompletedTask;
    }

    public void Dispose() => _cache.Dispose();

#pragma warning disable CS0618 // ISystemClock is what MemoryCacheOptions still takes.
    private sealed class TimeProviderClock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
#pragma warning restore CS0618
}

using CloudProxy.Core.State;
using StackExchange.Redis;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>The cache store on Redis directly (<c>--redis-address</c>), shared by every replica.</summary>
internal sealed class ProxyRedisStore(IConnectionMultiplexer redis) : IStateStore
{
    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetAsync(key);
        return value.IsNull ? null : (byte[]?)value;
    }

    public Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(key, value, timeToLive, When.Always);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => redis.GetDatabase().KeyDeleteAsync(key);
}

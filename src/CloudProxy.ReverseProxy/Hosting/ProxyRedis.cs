using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// The Redis connection of <c>--redis-address</c>, or none. Connects in the background
/// (<c>AbortOnConnectFail=false</c>) with short timeouts: a Redis that is down at start or later makes the
/// cache and the limiter pass requests through; it never stops the proxy.
/// </summary>
internal sealed class ProxyRedis : IDisposable
{
    private readonly Lazy<IConnectionMultiplexer?> _connection;

    public ProxyRedis(IOptions<ReverseProxyOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = options.Value.RedisAddress;
        _connection = new Lazy<IConnectionMultiplexer?>(() =>
        {
            if (string.IsNullOrWhiteSpace(address))
            {
                return null;
            }

            var config = ConfigurationOptions.Parse(address);
            config.AbortOnConnectFail = false;
            config.ConnectTimeout = 1000;
            config.AsyncTimeout = 500;
            config.SyncTimeout = 500;
            config.ClientName = "cloudproxy-reverse-proxy";
            return ConnectionMultiplexer.Connect(config);
        });
    }

    public IConnectionMultiplexer? Connection => _connection.Value;

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value?.Dispose();
        }
    }
}

using CloudProxy.Core.Hosting;
using CloudProxy.Core.State;
using CloudProxy.Core.Transport;
using CloudProxy.ReverseProxy.Backpressure;
using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy;

public static class ReverseProxyServiceCollectionExtensions
{
    /// <summary>
    /// Registers the reverse proxy when this process runs <c>reverse-proxy</c>. It serves on its own listener
    /// (<see cref="ReverseProxyOptions.Listen"/>, a second Kestrel server started by <see cref="ReverseProxyServer"/>),
    /// so its catch-all routes never shadow the other modules' routes; its metrics go to the host's registry and
    /// are served by the host's <c>/metrics</c>. Named <c>…Service</c> because YARP owns <c>AddReverseProxy</c>.
    /// </summary>
    public static CloudProxyBuilder AddReverseProxyService(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Roles.Has(ServiceRoles.ReverseProxy))
        {
            return builder;
        }

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        // The composition root: the one place shipped code takes Random.Shared (thread-safe); tests register a seeded one.
#pragma warning disable RS0030
        services.TryAddSingleton(Random.Shared);
#pragma warning restore RS0030
        services.AddOptions<ReverseProxyOptions>().BindConfiguration(ReverseProxyOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReverseProxyOptions>, ReverseProxyOptionsValidator>());
        services.TryAddSingleton<ProxyMetrics>();
        services.TryAddSingleton<ProxyRedis>();

        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ReverseProxyOptions>>().Value;
            return new ProxyCacheStore(ChooseCacheStore(sp, options), options.Cache, sp.GetRequiredService<ProxyMetrics>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ProxyCacheStore>>());
        });
        services.TryAddSingleton<ProxyCacheCoalescer>();
        services.TryAddSingleton<ProxyCacheFill>();
        services.TryAddSingleton(sp =>
        {
            // A purge must outlive every entry stored before it: the longest an entry can be kept, with a margin.
            var cache = sp.GetRequiredService<IOptions<ReverseProxyOptions>>().Value.Cache;
            return new Purge.ProxyPurgeIndex(sp.GetRequiredService<TimeProvider>(),
                TimeSpan.FromSeconds(cache.MaxTtlSeconds + Math.Max(cache.KeepSeconds, cache.MaxStaleSeconds) + 60));
        });
        services.TryAddSingleton<Purge.ProxyPurgeLog>();
        services.AddHostedService(sp => sp.GetRequiredService<Purge.ProxyPurgeLog>());
        services.TryAddSingleton<IProxyRateLimitStore>(sp => sp.GetRequiredService<ProxyRedis>().Connection is { } redis
            ? new ProxyFallbackRateLimitStore(new ProxyRedisRateLimitStore(redis), new ProxyMemoryRateLimitStore(sp.GetRequiredService<TimeProvider>()),
                sp.GetRequiredService<IOptions<ReverseProxyOptions>>().Value.Cache, sp.GetRequiredService<ProxyMetrics>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ProxyFallbackRateLimitStore>>())
            : new ProxyMemoryRateLimitStore(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ProxyClientIdentity(sp.GetRequiredService<IOptions<ReverseProxyOptions>>().Value.RateLimit));
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<ReverseProxyOptions>>().Value.Backpressure;
            var waiting = sp.GetRequiredService<ProxyMetrics>().BackpressureWaiting;
            return new ProxyCongestionWindow(o.MinWindow, o.MaxWindow, o.InitialWindow, o.DecreaseFactor,
                (criticality, count) => waiting.WithLabels(ProxyCriticalityOf.Name(criticality)).Set(count));
        });

        services.AddHttpClient(ProxyQueryMonitor.ClientName);
        services.AddHostedService<ProxyQueryMonitor>();
        services.TryAddSingleton<ReverseProxyServer>();
        services.AddHostedService(sp => sp.GetRequiredService<ReverseProxyServer>());
        return builder;
    }

    /// <summary>Redis directly when <c>--redis-address</c> is given; the Dapr state store with <c>--transport dapr</c>; memory otherwise.</summary>
    private static IStateStore ChooseCacheStore(IServiceProvider services, ReverseProxyOptions options)
    {
        if (services.GetRequiredService<ProxyRedis>().Connection is { } redis)
        {
            return new ProxyRedisStore(redis);
        }

        if (services.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == TransportKind.Dapr
            && services.GetService<IStateStore>() is { } dapr)
        {
            return dapr;
        }

        return new ProxyMemoryStore(options.Cache.MemoryMaxBytes, services.GetRequiredService<TimeProvider>());
    }
}

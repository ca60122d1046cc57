using System.Net;
using CloudProxy.ReverseProxy;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>The cache on a real Redis: shared by replicas; and an outage that degrades to pass-through, never a 5xx.</summary>
public sealed class ProxyStoreTests
{
    [Fact]
    public async Task An_entry_stored_by_one_replica_is_a_hit_on_another()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        var address = $"127.0.0.1:{redis.Port}";
        // Generous store timeouts: this test is about sharing, not about slow first calls on a loaded machine.
        await using var a = await ProxyHost.StartAsync(backend.Address, "-redis-address", address, "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");
        await using var b = await ProxyHost.StartAsync(backend.Address, "-redis-address", address, "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");

        // Replicas behind one load balancer see the same Host; the key includes it.
        static HttpRequestMessage Get() => new(HttpMethod.Get, "/shared?cc=max-age%3D60") { Headers = { Host = "shop.example" } };
        using var miss = await a.Client.SendAsync(Get());
        using var hit = await b.Client.SendAsync(Get());

        Assert.Equal("MISS", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", hit.Headers.GetValues("X-Cache").Single());
        Assert.Equal(await miss.Content.ReadAsStringAsync(), await hit.Content.ReadAsStringAsync());
        Assert.Equal(1, backend.Total);
        Assert.NotEmpty(await redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).KeysAsync(pattern: "cloudproxy:rp:*").ToListAsync());
    }

    [Fact]
    public async Task With_redis_down_every_request_passes_through_with_no_5xx()
    {
        await using var backend = await ProxyBackend.StartAsync();
        var deadPort = Loopback.FreeTcpPort();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-redis-address", $"127.0.0.1:{deadPort}", "-requests-per-minute", "100");

        for (var i = 0; i < 5; i++)
        {
            using var response = await proxy.Client.GetAsync("/down?cc=max-age%3D60");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("MISS", response.Headers.GetValues("X-Cache").Single());
        }

        Assert.Equal(5, backend.Total);
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.CacheStoreErrors) >= 1);
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.RateLimitStoreErrors) >= 1);
    }

    [Fact]
    public async Task With_redis_down_each_replica_still_enforces_the_limit_on_its_own()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-redis-address", $"127.0.0.1:{Loopback.FreeTcpPort()}", "-requests-per-minute", "2");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await proxy.Client.GetAsync("/limited");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.RateLimitStoreErrors) >= 1);
    }
}

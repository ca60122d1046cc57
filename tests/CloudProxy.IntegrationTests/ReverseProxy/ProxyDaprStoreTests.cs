using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>With <c>--transport dapr</c> the cache lives in the Dapr state store (here the sidecar double's state API over a real redis-server).</summary>
public sealed class ProxyDaprStoreTests
{
    [Fact]
    public async Task With_the_dapr_transport_cache_entries_go_through_the_dapr_state_store()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await DaprSidecarDouble.StartAsync(redis);
        await using var backend = await ProxyBackend.StartAsync();
        // A generous store timeout: the first gRPC call (connection, JIT) on a loaded machine is slow, and this
        // test is about where entries go, not about the outage path (the next test).
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            "--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}", $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}",
            "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");

        using var miss = await proxy.Client.GetAsync("/d?cc=max-age%3D60");
        using var hit = await proxy.Client.GetAsync("/d?cc=max-age%3D60");

        Assert.Equal("MISS", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", hit.Headers.GetValues("X-Cache").Single());
        Assert.Equal(1, backend.Total);
        var keys = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).KeysAsync(pattern: sidecar.RedisKey("cloudproxy:rp:*"));
        Assert.NotEmpty(await keys.ToListAsync());
    }

    [Fact]
    public async Task With_the_dapr_sidecar_down_the_proxy_passes_through()
    {
        await using var sidecar = await DaprSidecarDouble.StartAsync();
        sidecar.Unavailable = true;
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            "--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}", $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}");

        for (var i = 0; i < 3; i++)
        {
            using var response = await proxy.Client.GetAsync("/d?cc=max-age%3D60");
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(3, backend.Total);
    }
}

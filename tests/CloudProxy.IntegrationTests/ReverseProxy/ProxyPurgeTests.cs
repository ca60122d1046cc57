using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CloudProxy.ReverseProxy;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Purge by URL, prefix and tag behind a token on the proxy's listener; across replicas sharing Redis or the Dapr state store.</summary>
public sealed class ProxyPurgeTests
{
    private const string Token = "purge-token-for-tests-0123456789";

    private static readonly string[] Purging = ["--CloudProxy:ReverseProxy:Purge:Token=" + Token, "--CloudProxy:ReverseProxy:Purge:SyncIntervalMs=200"];

    /// <summary>Replicas behind one load balancer see the same Host; the cache key holds it.</summary>
    private static async Task<(string XCache, string Body, HttpResponseMessage Response)> GetAsync(ProxyHost proxy, string path)
    {
        var (response, body) = await proxy.GetAsync(path, r => r.Headers.Host = "shop.example");
        return (ProxyHost.XCache(response), body, response);
    }

    /// <summary>Two replicas with purging on, sharing one real redis-server.</summary>
    private sealed class TwoReplicas : IAsyncDisposable
    {
        public RedisServer Redis { get; private init; } = null!;

        public ProxyBackend Backend { get; private init; } = null!;

        public ProxyHost A { get; private init; } = null!;

        public ProxyHost B { get; private init; } = null!;

        public static async Task<TwoReplicas> StartAsync()
        {
            var redis = await RedisServer.StartAsync();
            var backend = await ProxyBackend.StartAsync();
            string[] args = [.. Purging, "-redis-address", $"127.0.0.1:{redis.Port}", "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000"];
            return new TwoReplicas
            {
                Redis = redis, Backend = backend,
                A = await ProxyHost.StartAsync(backend.Address, args), B = await ProxyHost.StartAsync(backend.Address, args),
            };
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await Backend.DisposeAsync();
            await Redis.DisposeAsync();
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> PurgeAsync(ProxyHost proxy, string json, string? token = Token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.cloudproxy/purge") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await proxy.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private const string ImgA = "/img/a.png?cc=max-age%3D600";
    private const string ImgB = "/img/sub/b.png?cc=max-age%3D600";
    private const string Images = "/images/c.png?cc=max-age%3D600";
    private const string Tagged = "/doc?cc=max-age%3D600&tags=product-1%20common";
    private const string OtherTag = "/other?cc=max-age%3D600&ctags=product-2,common";
    private const string Exact = "/exact?cc=max-age%3D600&x=1";
    private const string Body = """{"urls":["/exact?x=1&cc=max-age%3D600"],"prefixes":["/img/"],"tags":["product-1"]}""";

    private static async Task FillAsync(ProxyHost proxy)
    {
        foreach (var path in new[] { ImgA, ImgB, Images, Tagged, OtherTag, Exact })
        {
            Assert.Equal("MISS", (await GetAsync(proxy, path)).XCache);
            Assert.Equal("HIT", (await GetAsync(proxy, path)).XCache);
        }
    }

    [Fact]
    public async Task A_purge_by_url_prefix_and_tag_drops_exactly_the_entries_it_names()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);
        await FillAsync(proxy);

        var (status, answer) = await PurgeAsync(proxy, Body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"urls\":1", answer, StringComparison.Ordinal);
        foreach (var purged in new[] { ImgA, ImgB, Tagged, Exact })
        {
            Assert.Equal("MISS", (await GetAsync(proxy, purged)).XCache);
        }

        // /images is not under /img; product-2 was not purged.
        Assert.Equal("HIT", (await GetAsync(proxy, Images)).XCache);
        Assert.Equal("HIT", (await GetAsync(proxy, OtherTag)).XCache);
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.Purges, ("kind", "tag")));
        Assert.Equal(4, await proxy.MetricAsync(ReverseProxyMetricNames.CachePurged));
    }

    [Fact]
    public async Task The_purge_method_purges_its_own_url()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);
        await FillAsync(proxy);

        using var purge = new HttpRequestMessage(new HttpMethod("PURGE"), Exact) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var response = await proxy.Client.SendAsync(purge);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("MISS", (await GetAsync(proxy, Exact)).XCache);
        Assert.Equal("HIT", (await GetAsync(proxy, ImgA)).XCache);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-wrong-token-wrong")]
    public async Task A_purge_without_the_token_is_refused_with_401_and_purges_nothing(string? token)
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);
        await FillAsync(proxy);

        var (status, reason) = await PurgeAsync(proxy, Body, token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("purge token", reason, StringComparison.Ordinal);
        Assert.Equal("HIT", (await GetAsync(proxy, ImgA)).XCache);
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.PurgeRefused, ("reason", "token")));
        Assert.Equal(0, backend.CallsTo("/.cloudproxy/purge"));
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("""{"urls":"/a"}""", "list of strings")]
    [InlineData("""{"urls":["a"]}""", "starts with /")]
    [InlineData("""{"prefixes":["/a?b=1"]}""", "without a query")]
    [InlineData("""{"tags":["two words"]}""", "no spaces")]
    [InlineData("""{"colours":["red"]}""", "unknown field 'colours'")]
    [InlineData("{}", "nothing to purge")]
    public async Task A_bad_purge_request_gets_400_saying_why(string body, string reason)
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);

        var (status, answer) = await PurgeAsync(proxy, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, answer, StringComparison.Ordinal);
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.PurgeRefused, ("reason", "bad_request")));
    }

    [Fact]
    public async Task An_oversized_purge_body_gets_413_and_a_get_on_the_endpoint_405()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);

        var (big, _) = await PurgeAsync(proxy, "{\"tags\":[\"" + new string('x', 70_000) + "\"]}");
        using var get = new HttpRequestMessage(HttpMethod.Get, "/.cloudproxy/purge") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var wrongMethod = await proxy.Client.SendAsync(get);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal(0, backend.Total);
    }

    [Fact]
    public async Task With_purging_on_the_tag_fields_are_not_passed_to_clients()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Purging);

        var (_, _, miss) = await GetAsync(proxy, Tagged);
        var (_, _, hit) = await GetAsync(proxy, OtherTag + "&again=1");
        var (_, _, hit2) = await GetAsync(proxy, OtherTag + "&again=1");

        Assert.False(miss.Headers.Contains("Surrogate-Key"));
        Assert.False(hit.Headers.Contains("Cache-Tag"));
        Assert.False(hit2.Headers.Contains("Cache-Tag"));
        Assert.Equal("HIT", string.Join(",", hit2.Headers.GetValues("X-Cache")));
    }

    [Fact]
    public async Task A_purge_on_one_replica_takes_effect_on_another_sharing_redis()
    {
        await using var replicas = await TwoReplicas.StartAsync();
        var (a, b) = (replicas.A, replicas.B);
        await FillAsync(a);
        foreach (var path in new[] { ImgA, Tagged, Exact, Images })
        {
            Assert.Equal("HIT", (await GetAsync(b, path)).XCache);
        }

        var (status, answer) = await PurgeAsync(a, Body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("all sharing the store", answer, StringComparison.Ordinal);
        foreach (var purged in new[] { ImgA, ImgB, Tagged, Exact })
        {
            // B learns of the purge at its next read of the log (every 200 ms here); until then it may still answer HIT.
            Assert.True(await Eventually.TrueAsync(async () => (await GetAsync(b, purged)).XCache == "MISS", TimeSpan.FromSeconds(30)),
                $"{purged} was still served by the other replica");
        }

        Assert.Equal("HIT", (await GetAsync(b, Images)).XCache);
        Assert.True(await replicas.Redis.Database.KeyExistsAsync("cloudproxy:rp:purges"));
    }

    [Fact]
    public async Task Purges_from_two_replicas_at_once_all_reach_both()
    {
        await using var replicas = await TwoReplicas.StartAsync();
        var (a, b) = (replicas.A, replicas.B);
        var paths = Enumerable.Range(0, 20).Select(i => $"/many/{i}?cc=max-age%3D600&tags=t{i}").ToArray();
        foreach (var path in paths)
        {
            await GetAsync(a, path);
        }

        // Twenty purges, half on each replica, all at once: the log is written by both, so some writes overwrite others.
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => PurgeAsync(i % 2 == 0 ? a : b, $$"""{"tags":["t{{i}}"]}""")));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));

        // Each entry asked of the replica that did not purge it (a MISS refetches and stores it anew for both).
        for (var i = 0; i < paths.Length; i++)
        {
            var (other, name) = i % 2 == 0 ? (b, "b") : (a, "a");
            Assert.True(await Eventually.TrueAsync(async () => (await GetAsync(other, paths[i])).XCache == "MISS", TimeSpan.FromSeconds(30)),
                $"replica {name} still serves {paths[i]}, purged on the other");
        }
    }

    [Fact]
    public async Task A_purge_on_one_replica_takes_effect_on_another_sharing_the_dapr_state_store()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecarA = await DaprSidecarDouble.StartAsync(redis);
        await using var sidecarB = await DaprSidecarDouble.StartAsync(redis);
        await using var backend = await ProxyBackend.StartAsync();
        string[] Args(DaprSidecarDouble sidecar) =>
        [
            .. Purging, "--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}", $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}",
            "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000",
        ];
        await using var a = await ProxyHost.StartAsync(backend.Address, Args(sidecarA));
        await using var b = await ProxyHost.StartAsync(backend.Address, Args(sidecarB));
        await GetAsync(a, Tagged);
        Assert.Equal("HIT", (await GetAsync(b, Tagged)).XCache);

        var (status, _) = await PurgeAsync(a, """{"tags":["common"]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync(b, Tagged)).XCache == "MISS", TimeSpan.FromSeconds(30)));
        Assert.True(await redis.Database.KeyExistsAsync(sidecarA.RedisKey("cloudproxy:rp:purges")));
    }
}

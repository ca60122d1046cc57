using System.Net;
using CloudProxy.ReverseProxy;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Serving stale (RFC 5861): stale-while-revalidate with one background refresh per key, stale-if-error for a failing or absent back end.</summary>
public sealed class ProxyStaleTests
{
    /// <summary>A route that gives every response these stale windows, for responses that state none.</summary>
    private static string[] Route(string metadata, int seconds) =>
    [
        "--CloudProxy:ReverseProxy:Routes:stale:ClusterId=proxy-url", "--CloudProxy:ReverseProxy:Routes:stale:Match:Path=/route/{**rest}",
        $"--CloudProxy:ReverseProxy:Routes:stale:Metadata:CloudProxy.Cache.{metadata}={seconds}",
    ];

    private static Task<(HttpResponseMessage Response, string Body)> GetAsync(ProxyHost proxy, string path) => proxy.GetAsync(path);

    private static string XCache(HttpResponseMessage response) => ProxyHost.XCache(response);

    [Theory]
    [InlineData("/w?ms=1500&cc=max-age%3D1%2C%20stale-while-revalidate%3D60")]
    [InlineData("/route/w?ms=1500&cc=max-age%3D1")]
    public async Task Stale_while_revalidate_answers_from_the_cache_and_refreshes_once_in_the_background(string path)
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Route("StaleWhileRevalidateSeconds", 60));
        var (first, firstBody) = await GetAsync(proxy, path);

        // Fresh for a second: HITs, then the first stale request answers at once and starts the refresh (1.5 s at the back end).
        var updating = await Eventually.TrueAsync(async () => XCache((await GetAsync(proxy, path)).Response) == "UPDATING", TimeSpan.FromSeconds(30));
        var burst = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => GetAsync(proxy, path)));
        // One refresh however many stale answers: the back end sees the first call and the one refresh, no more.
        var callsDuringBurst = backend.Total;
        var refreshArrived = await Eventually.TrueAsync(() => backend.Total == 2, TimeSpan.FromSeconds(30));
        var refreshed = await Eventually.TrueAsync(async () => (await GetAsync(proxy, path)).Body.StartsWith("call 2", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        Assert.Equal("MISS", XCache(first));
        Assert.True(updating, "no stale answer while revalidating");
        Assert.All(burst, r => Assert.Equal("UPDATING", XCache(r.Response)));
        Assert.All(burst, r => Assert.Equal(firstBody, r.Body));
        Assert.InRange(callsDuringBurst, 1, 2);
        Assert.True(refreshArrived);
        Assert.True(refreshed, "the background refresh did not replace the entry");
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.CacheRevalidations, ("mode", "background"), ("result", "collapsed")) >= 5);
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.CacheLookups, ("result", "updating")) >= 11);
        Assert.StartsWith("call 1", firstBody, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/f?cc=max-age%3D1%2C%20stale-if-error%3D60", 503)]
    [InlineData("/f?cc=max-age%3D1%2C%20stale-if-error%3D60", 500)]
    [InlineData("/route/f?cc=max-age%3D1", 502)]
    public async Task Stale_if_error_covers_a_back_end_answering_5xx_with_the_stale_copy(string path, int failure)
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Route("StaleIfErrorSeconds", 60));
        var (_, body) = await GetAsync(proxy, path);
        backend.FailWith = failure;

        HttpResponseMessage? last = null;
        var stale = await Eventually.TrueAsync(async () => XCache((last = (await GetAsync(proxy, path)).Response)) == "STALE", TimeSpan.FromSeconds(30));

        Assert.True(stale, $"the failing back end's {failure} was not covered; last answer {last?.StatusCode} {(last is null ? "" : XCache(last))}");
        Assert.Equal(HttpStatusCode.OK, last!.StatusCode);
        Assert.Equal(body, await last.Content.ReadAsStringAsync());
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.CacheLookups, ("result", "stale")) >= 1);
    }

    [Theory]
    [InlineData("/down?cc=max-age%3D1%2C%20stale-if-error%3D60")]
    [InlineData("/route/down?cc=max-age%3D1")]
    public async Task Stale_if_error_covers_a_back_end_that_is_down(string path)
    {
        var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Route("StaleIfErrorSeconds", 60));
        var (_, body) = await GetAsync(proxy, path);
        await backend.DisposeAsync();

        HttpResponseMessage? last = null;
        var stale = await Eventually.TrueAsync(async () => XCache((last = (await GetAsync(proxy, path)).Response)) == "STALE", TimeSpan.FromSeconds(30));

        Assert.True(stale, $"the stopped back end was not covered; last answer {last?.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, last!.StatusCode);
        Assert.Equal(body, await last.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Must_revalidate_forbids_serving_stale_for_a_failing_back_end()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);
        const string Path = "/mr?cc=max-age%3D1%2C%20must-revalidate%2C%20stale-if-error%3D60";
        await GetAsync(proxy, Path);
        backend.FailWith = 503;

        HttpResponseMessage? last = null;
        var failed = await Eventually.TrueAsync(async () => (last = (await GetAsync(proxy, Path)).Response).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));

        Assert.True(failed);
        Assert.Equal("MISS", XCache(last!));
    }
}

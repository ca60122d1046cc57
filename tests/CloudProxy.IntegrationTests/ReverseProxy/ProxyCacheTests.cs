using System.Net;
using System.Net.Http.Headers;
using CloudProxy.ReverseProxy;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>HTTP caching through the real proxy in front of a real back end, one rule per test.</summary>
public sealed class ProxyCacheTests : IAsyncLifetime
{
    private ProxyBackend _backend = null!;
    private ProxyHost _proxy = null!;

    public async Task InitializeAsync()
    {
        _backend = await ProxyBackend.StartAsync();
        _proxy = await ProxyHost.StartAsync(_backend.Address, "--CloudProxy:ReverseProxy:Cache:MaxEntryBytes=4096");
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    private Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, Action<HttpRequestMessage>? configure = null, HttpMethod? method = null) =>
        _proxy.GetAsync(path, configure, method);

    private static string XCache(HttpResponseMessage response) => ProxyHost.XCache(response);

    [Fact]
    public async Task A_response_with_max_age_is_served_from_the_cache_the_second_time()
    {
        var (first, firstBody) = await GetAsync("/a?cc=max-age%3D60");
        var (second, secondBody) = await GetAsync("/a?cc=max-age%3D60");

        Assert.Equal("MISS", XCache(first));
        Assert.Equal("HIT", XCache(second));
        Assert.Equal(firstBody, secondBody);
        Assert.Equal(1, _backend.CallsTo("/a?cc=max-age%3D60"));
        Assert.True(second.Headers.Age.HasValue);
        Assert.Equal(1, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheLookups, ("result", "hit")));
        Assert.Equal(2, await _proxy.MetricAsync(ReverseProxyMetricNames.Requests, ("route", "proxy-url"), ("method", "GET"), ("status_class", "2xx")));
    }

    [Fact]
    public async Task Query_parameters_in_another_order_hit_the_same_entry()
    {
        await GetAsync("/q?b=2&a=1&cc=max-age%3D60");
        var (second, _) = await GetAsync("/q?cc=max-age%3D60&a=1&b=2");

        Assert.Equal("HIT", XCache(second));
        Assert.Equal(1, _backend.Total);
    }

    [Theory]
    [InlineData("/r?cc=no-store")]
    [InlineData("/r?cc=private%2C%20max-age%3D60")]
    [InlineData("/r?cc=no-cache%2C%20max-age%3D60")]
    [InlineData("/r?cc=max-age%3D60&cookie=1")]
    [InlineData("/r?cc=max-age%3D60&vary=*")]
    [InlineData("/r?cc=max-age%3D60&status=500")]
    [InlineData("/r")]
    public async Task A_response_the_rules_forbid_to_store_goes_to_the_back_end_every_time(string path)
    {
        var (first, _) = await GetAsync(path);
        var (second, _) = await GetAsync(path);

        Assert.Equal("MISS", XCache(first));
        Assert.Equal("MISS", XCache(second));
        Assert.Equal(2, _backend.Total);
    }

    [Fact]
    public async Task A_request_with_authorization_is_not_answered_from_or_stored_in_the_cache()
    {
        await GetAsync("/auth?cc=max-age%3D60", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alice"));
        var (second, body) = await GetAsync("/auth?cc=max-age%3D60", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "bob"));

        Assert.Equal("MISS", XCache(second));
        Assert.StartsWith("call 2", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shared_max_age_wins_over_max_age_in_a_shared_cache()
    {
        await GetAsync("/s?cc=max-age%3D0%2C%20s-maxage%3D60");
        var (second, _) = await GetAsync("/s?cc=max-age%3D0%2C%20s-maxage%3D60");

        Assert.Equal("HIT", XCache(second));
    }

    [Fact]
    public async Task Vary_keeps_one_entry_per_value_of_the_varied_header()
    {
        void English(HttpRequestMessage r) => r.Headers.AcceptLanguage.ParseAdd("en");
        void French(HttpRequestMessage r) => r.Headers.AcceptLanguage.ParseAdd("fr");
        const string Path = "/v?cc=max-age%3D60&vary=Accept-Language";

        await GetAsync(Path, English);
        var (fr1, _) = await GetAsync(Path, French);
        var (en2, enBody) = await GetAsync(Path, English);
        var (fr2, frBody) = await GetAsync(Path, French);

        Assert.Equal("MISS", XCache(fr1));
        Assert.Equal("HIT", XCache(en2));
        Assert.Equal("HIT", XCache(fr2));
        Assert.Contains("lang=en", enBody, StringComparison.Ordinal);
        Assert.Contains("lang=fr", frBody, StringComparison.Ordinal);
        Assert.Equal(2, _backend.Total);
    }

    [Fact]
    public async Task Post_is_never_cached()
    {
        for (var i = 0; i < 2; i++)
        {
            var response = await _proxy.Client.PostAsync("/p?cc=max-age%3D60", new StringContent("x"));
            Assert.Equal("MISS", XCache(response));
        }

        Assert.Equal(2, _backend.Total);
    }

    [Fact]
    public async Task A_client_asking_for_no_cache_gets_a_fresh_answer_that_refreshes_the_entry()
    {
        await GetAsync("/n?cc=max-age%3D60");
        var (fresh, freshBody) = await GetAsync("/n?cc=max-age%3D60", r => r.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true });
        var (after, afterBody) = await GetAsync("/n?cc=max-age%3D60");

        Assert.Equal("MISS", XCache(fresh));
        Assert.StartsWith("call 2", freshBody, StringComparison.Ordinal);
        Assert.Equal("HIT", XCache(after));
        Assert.Equal(freshBody, afterBody);
    }

    [Fact]
    public async Task A_body_over_the_size_limit_streams_through_uncached()
    {
        var (first, body) = await GetAsync("/big?cc=max-age%3D60&bytes=10000");
        var (second, _) = await GetAsync("/big?cc=max-age%3D60&bytes=10000");

        Assert.Equal(10000, body.Length);
        Assert.Equal("MISS", XCache(second));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(2, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheNotStored, ("reason", "too_large")));
    }

    [Fact]
    public async Task Head_is_answered_from_the_entry_a_get_stored_without_a_body()
    {
        await GetAsync("/h?cc=max-age%3D60");
        var (head, body) = await GetAsync("/h?cc=max-age%3D60", method: HttpMethod.Head);

        Assert.Equal("HIT", XCache(head));
        Assert.Equal(string.Empty, body);
        Assert.True(head.Content.Headers.ContentLength > 0);
        Assert.Equal(1, _backend.Total);
    }

    [Fact]
    public async Task Concurrent_misses_of_one_key_make_one_back_end_call()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => GetAsync("/slow?cc=max-age%3D60&ms=300")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Response.StatusCode));
        Assert.Single(responses.Select(r => r.Body).Distinct());
        Assert.Equal(1, _backend.CallsTo("/slow?cc=max-age%3D60&ms=300"));
        Assert.Equal(19, responses.Count(r => XCache(r.Response) == "HIT"));
    }
}

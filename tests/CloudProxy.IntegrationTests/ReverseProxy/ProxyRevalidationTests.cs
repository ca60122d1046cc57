using System.Net;
using System.Net.Http.Headers;
using CloudProxy.ReverseProxy;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Revalidation (RFC 9111 §4.3): the stored validators sent to the back end, clients' conditionals answered by the cache, clients' cache directives.</summary>
public sealed class ProxyRevalidationTests : IAsyncLifetime
{
    private ProxyBackend _backend = null!;
    private ProxyHost _proxy = null!;

    public async Task InitializeAsync()
    {
        _backend = await ProxyBackend.StartAsync();
        _proxy = await ProxyHost.StartAsync(_backend.Address);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    private Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, Action<HttpRequestMessage>? configure = null) => _proxy.GetAsync(path, configure);

    private static string XCache(HttpResponseMessage response) => ProxyHost.XCache(response);

    private static string BackendCall(HttpResponseMessage response) => string.Join(",", response.Headers.GetValues("X-Backend-Call"));

    [Fact]
    public async Task A_stale_entry_is_revalidated_with_its_etag_and_the_304_refreshes_its_freshness_and_headers()
    {
        // Stale at once (max-age=0, kept for its ETag); the back end's 304 makes it fresh for a minute.
        const string Path = "/e?etag=v1&cc=max-age%3D0&cc304=max-age%3D60";

        var (first, firstBody) = await GetAsync(Path);
        var (second, secondBody) = await GetAsync(Path);
        var sentValidator = _backend.LastHeaders!.IfNoneMatch.ToString();
        var (third, thirdBody) = await GetAsync(Path);

        Assert.Equal(["MISS", "REVALIDATED", "HIT"], new[] { XCache(first), XCache(second), XCache(third) });
        Assert.Equal("\"v1\"", sentValidator);
        Assert.Equal(firstBody, secondBody);
        Assert.Equal(firstBody, thirdBody);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((2, 1), (_backend.Total, _backend.NotModifiedSent));
        // The stored headers are the 304's now: its call number and its Cache-Control.
        Assert.Equal("2", BackendCall(third));
        Assert.Equal("max-age=60", third.Headers.CacheControl!.ToString());
        Assert.Equal(1, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheRevalidations, ("mode", "inline"), ("result", "not_modified")));
    }

    [Fact]
    public async Task Last_modified_is_the_validator_when_there_is_no_etag()
    {
        const string Path = "/l?lm=1&cc=max-age%3D0&cc304=max-age%3D60";

        await GetAsync(Path);
        var (second, _) = await GetAsync(Path);

        Assert.Equal("REVALIDATED", XCache(second));
        Assert.Equal(ProxyBackend.LastModified, _backend.LastHeaders!.IfModifiedSince.ToString());
    }

    [Fact]
    public async Task A_changed_representation_replaces_the_stored_one()
    {
        // A new ETag on every call: the back end never says 304.
        const string Path = "/c?etag=auto&cc=max-age%3D0";

        await GetAsync(Path);
        var (second, secondBody) = await GetAsync(Path);

        Assert.Equal("MISS", XCache(second));
        Assert.StartsWith("call 2", secondBody, StringComparison.Ordinal);
        Assert.Equal("\"v1\"", _backend.LastHeaders!.IfNoneMatch.ToString());
        Assert.Equal(1, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheRevalidations, ("mode", "inline"), ("result", "modified")));
    }

    [Fact]
    public async Task A_no_cache_response_with_an_etag_is_stored_and_validated_before_each_use()
    {
        const string Path = "/nc?etag=v1&cc=no-cache";

        var (first, body) = await GetAsync(Path);
        var (second, secondBody) = await GetAsync(Path);
        var (third, _) = await GetAsync(Path);

        Assert.Equal(["MISS", "REVALIDATED", "REVALIDATED"], new[] { XCache(first), XCache(second), XCache(third) });
        Assert.Equal(body, secondBody);
        Assert.Equal((3, 2), (_backend.Total, _backend.NotModifiedSent));
    }

    [Fact]
    public async Task A_clients_if_none_match_is_answered_304_from_the_cache()
    {
        const string Path = "/inm?etag=v1&cc=max-age%3D60";
        await GetAsync(Path);

        var (matching, matchingBody) = await GetAsync(Path, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"")));
        var (other, otherBody) = await GetAsync(Path, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v0\"")));

        Assert.Equal(HttpStatusCode.NotModified, matching.StatusCode);
        Assert.Equal(string.Empty, matchingBody);
        Assert.Equal("\"v1\"", matching.Headers.ETag!.ToString());
        Assert.Equal("HIT", XCache(matching));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.StartsWith("call 1", otherBody, StringComparison.Ordinal);
        Assert.Equal(1, _backend.Total);
        Assert.Equal(1, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheNotModified, ("route", "proxy-url")));
    }

    [Fact]
    public async Task A_clients_if_modified_since_is_answered_304_from_the_cache()
    {
        const string Path = "/ims?lm=1&cc=max-age%3D60";
        await GetAsync(Path);

        var (later, _) = await GetAsync(Path, r => r.Headers.IfModifiedSince = DateTimeOffset.Parse(ProxyBackend.LastModified, System.Globalization.CultureInfo.InvariantCulture));
        var (earlier, _) = await GetAsync(Path, r => r.Headers.IfModifiedSince = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(HttpStatusCode.NotModified, later.StatusCode);
        Assert.Equal(HttpStatusCode.OK, earlier.StatusCode);
        Assert.Equal(1, _backend.Total);
    }

    [Theory]
    [InlineData("no-cache")]
    [InlineData("max-age=0")]
    public async Task A_client_asking_for_a_validated_answer_gets_one_without_the_body_travelling_again(string cacheControl)
    {
        const string Path = "/v?etag=v1&cc=max-age%3D60";
        var (_, body) = await GetAsync(Path);

        var (validated, validatedBody) = await GetAsync(Path, r => r.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl));

        Assert.Equal("REVALIDATED", XCache(validated));
        Assert.Equal(body, validatedBody);
        Assert.Equal((2, 1), (_backend.Total, _backend.NotModifiedSent));
    }

    [Fact]
    public async Task Only_if_cached_is_answered_from_the_cache_or_with_504()
    {
        const string Path = "/o?cc=max-age%3D60";
        static void OnlyIfCached(HttpRequestMessage r) => r.Headers.CacheControl = new CacheControlHeaderValue { OnlyIfCached = true };

        var (nothing, reason) = await GetAsync(Path, OnlyIfCached);
        await GetAsync(Path);
        var (stored, _) = await GetAsync(Path, OnlyIfCached);

        Assert.Equal(HttpStatusCode.GatewayTimeout, nothing.StatusCode);
        Assert.Contains("only-if-cached", reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal("HIT", XCache(stored));
        Assert.Equal(1, _backend.Total);
        Assert.Equal(1, await _proxy.MetricAsync(ReverseProxyMetricNames.CacheLookups, ("result", "only_if_cached")));
    }

    [Fact]
    public async Task Max_age_and_min_fresh_from_the_client_send_a_too_old_entry_to_the_back_end()
    {
        const string Path = "/m?etag=v1&cc=max-age%3D60";
        await GetAsync(Path);

        var (tooOld, _) = await GetAsync(Path, r => r.Headers.CacheControl = CacheControlHeaderValue.Parse("min-fresh=120"));

        Assert.Equal("REVALIDATED", XCache(tooOld));
    }

    [Fact]
    public async Task A_refusal_of_the_proxys_own_while_validating_keeps_the_stored_entry()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "1");
        const string Path = "/kept?etag=v1&cc=max-age%3D0";
        using var stored = await proxy.Client.GetAsync(Path);

        // Stale at once: validating it needs the back end, and the limiter (after the cache) refuses.
        using var refused = await proxy.Client.GetAsync(Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, Path) { Headers = { CacheControl = CacheControlHeaderValue.Parse("max-stale") } };
        using var accepted = await proxy.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("HIT", XCache(accepted));
        Assert.Equal(1, backend.Total);
    }
}

using System.Net;
using CloudProxy.ReverseProxy;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Rate limits at their edges: the last allowed request, the first refused, per client, per replica set.</summary>
public sealed class ProxyRateLimitTests
{
    private static HttpRequestMessage Get(string path, string? apiKey = null, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }

        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return request;
    }

    private static string Field(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "(none)";

    /// <summary>3 a minute: a token every 20 s, so t is at most 20 (less when the machine is slow between requests).</summary>
    private static void AssertState(int remaining, string state)
    {
        var match = System.Text.RegularExpressions.Regex.Match(state, "^\"proxy-url\";r=(\\d+);t=(\\d+)$");
        Assert.True(match.Success, $"not a RateLimit field of the draft: {state}");
        Assert.Equal(remaining, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 20);
    }

    private static async Task<(HttpStatusCode Status, string State, string Policy, TimeSpan? RetryAfter)[]> FieldsAsync(ProxyHost proxy, int count, string path)
    {
        var seen = new (HttpStatusCode, string, string, TimeSpan?)[count];
        for (var i = 0; i < count; i++)
        {
            using var response = await proxy.Client.GetAsync(path);
            seen[i] = (response.StatusCode, Field(response, "RateLimit"), Field(response, "RateLimit-Policy"), response.Headers.RetryAfter?.Delta);
        }

        return seen;
    }

    private static async Task<HttpStatusCode[]> SendAsync(ProxyHost proxy, int count, Func<HttpRequestMessage> request)
    {
        var statuses = new HttpStatusCode[count];
        for (var i = 0; i < count; i++)
        {
            using var response = await proxy.Client.SendAsync(request());
            statuses[i] = response.StatusCode;
        }

        return statuses;
    }

    [Fact]
    public async Task The_request_over_the_limit_gets_429_with_retry_after_and_is_counted()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "3");

        var statuses = await SendAsync(proxy, 3, () => Get("/x"));
        using var refused = await proxy.Client.GetAsync("/x");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(3, backend.Total);
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.RateLimited, ("route", "proxy-url")));
    }

    [Fact]
    public async Task Each_api_key_has_its_own_quota()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2",
            "--CloudProxy:ReverseProxy:RateLimit:PartitionBy=Header");

        var alice = await SendAsync(proxy, 3, () => Get("/k", apiKey: "alice"));
        var bob = await SendAsync(proxy, 2, () => Get("/k", apiKey: "bob"));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], alice);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], bob);
    }

    [Fact]
    public async Task X_forwarded_for_from_an_untrusted_peer_does_not_buy_a_fresh_quota()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2");

        var n = 0;
        var statuses = await SendAsync(proxy, 3, () => Get("/f", forwardedFor: $"203.0.113.{++n}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[2]);
    }

    [Fact]
    public async Task X_forwarded_for_from_a_trusted_proxy_names_the_client()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2",
            "--CloudProxy:ReverseProxy:RateLimit:TrustedProxies:0=127.0.0.0/8");

        // The client wrote a fake first hop; the trusted proxy appended the real one: the real one counts.
        var first = await SendAsync(proxy, 3, () => Get("/t", forwardedFor: "198.51.100.7, 203.0.113.1"));
        var second = await SendAsync(proxy, 2, () => Get("/t", forwardedFor: "198.51.100.7, 203.0.113.2"));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], first);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], second);
    }

    [Fact]
    public async Task Cache_hits_do_not_use_quota()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2");

        var cached = await SendAsync(proxy, 6, () => Get("/c?cc=max-age%3D60"));
        var uncached = await SendAsync(proxy, 2, () => Get("/u"));

        Assert.All(cached, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], uncached);
    }

    [Fact]
    public async Task Cache_hits_use_quota_when_configured()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2",
            "--CloudProxy:ReverseProxy:RateLimit:CountCacheHits=true");

        var statuses = await SendAsync(proxy, 3, () => Get("/c?cc=max-age%3D60"));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(1, backend.Total);
    }

    [Fact]
    public async Task Replicas_sharing_redis_share_one_quota_per_client()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        var address = $"127.0.0.1:{redis.Port}";
        await using var a = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "3", "-redis-address", address, "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");
        await using var b = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "3", "-redis-address", address, "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");

        var fromA = await SendAsync(a, 2, () => Get("/shared"));
        var fromB = await SendAsync(b, 2, () => Get("/shared"));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], fromA);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], fromB);
    }

    [Fact]
    public async Task Sliding_window_refuses_past_the_limit_in_redis_too()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "2", "-redis-address", $"127.0.0.1:{redis.Port}",
            "--CloudProxy:ReverseProxy:RateLimit:Algorithm=SlidingWindow", "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000");

        var statuses = await SendAsync(proxy, 3, () => Get("/w"));
        using var refused = await proxy.Client.GetAsync("/w");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task Allowed_and_refused_responses_carry_the_drafts_ratelimit_fields_counting_down()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "3");

        var seen = await FieldsAsync(proxy, 4, "/h");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], seen.Select(s => s.Status));
        AssertState(2, seen[0].State);
        AssertState(1, seen[1].State);
        AssertState(0, seen[2].State);
        AssertState(0, seen[3].State);
        Assert.All(seen, s => Assert.Equal("\"proxy-url\";q=3;w=60", s.Policy));
        var t = int.Parse(seen[3].State[(seen[3].State.LastIndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seen[3].RetryAfter >= TimeSpan.FromSeconds(t), $"Retry-After {seen[3].RetryAfter} is earlier than t={t}");
    }

    [Fact]
    public async Task Replicas_sharing_redis_report_the_shared_partitions_state()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        var address = $"127.0.0.1:{redis.Port}";
        string[] args = ["-requests-per-minute", "3", "-redis-address", address, "--CloudProxy:ReverseProxy:Cache:StoreTimeoutMs=10000"];
        await using var a = await ProxyHost.StartAsync(backend.Address, args);
        await using var b = await ProxyHost.StartAsync(backend.Address, args);

        var fromA = await FieldsAsync(a, 2, "/r");
        var fromB = await FieldsAsync(b, 2, "/r");

        AssertState(2, fromA[0].State);
        AssertState(1, fromA[1].State);
        AssertState(0, fromB[0].State);
        Assert.Equal(HttpStatusCode.TooManyRequests, fromB[1].Status);
        AssertState(0, fromB[1].State);
        Assert.Equal(0, await a.MetricAsync(ReverseProxyMetricNames.RateLimitStoreErrors));
    }

    [Fact]
    public async Task A_cache_hit_that_uses_no_quota_carries_no_ratelimit_fields()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "-requests-per-minute", "3");

        var seen = await FieldsAsync(proxy, 2, "/c?cc=max-age%3D60");

        AssertState(2, seen[0].State);
        Assert.Equal("(none)", seen[1].State);
    }
}

using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Tests.Cache;

public class ProxyCachePolicyTests
{
    private static readonly ProxyRouteSettings Route = new()
    {
        RouteId = "r", CacheEnabled = true, MaxTtlSeconds = 3600, MaxEntryBytes = 1000, DefaultTtlSeconds = 0,
    };

    private static HttpResponse Response(int status, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = status;
        foreach (var (name, value) in headers)
        {
            context.Response.Headers.Append(name, value);
        }

        return context.Response;
    }

    private static HttpRequest Request(string method, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }

        return context.Request;
    }

    [Theory]
    [InlineData("max-age=60", 60)]
    [InlineData("public, max-age=60, s-maxage=10", 10)]
    [InlineData("max-age=99999", 3600)]
    public void Freshness_comes_from_s_maxage_then_max_age_capped_by_the_route(string cacheControl, double seconds)
    {
        var (lifetime, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", cacheControl)), Route);

        Assert.Null(reason);
        Assert.Equal(seconds, lifetime.Fresh.TotalSeconds);
    }

    [Fact]
    public void The_age_the_back_end_reports_is_taken_off_the_freshness()
    {
        var (lifetime, _) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", "max-age=60"), ("Age", "50")), Route);

        Assert.Equal(10, lifetime.Fresh.TotalSeconds);
    }

    [Theory]
    [InlineData(200, "Cache-Control", "no-store", "no_store")]
    [InlineData(200, "Cache-Control", "private, max-age=60", "private")]
    [InlineData(200, "Cache-Control", "No-Cache", "no_cache")]
    [InlineData(200, "Set-Cookie", "a=b", "set_cookie")]
    [InlineData(200, "Vary", "*", "vary_star")]
    [InlineData(206, "Cache-Control", "max-age=60", "status")]
    [InlineData(500, "Cache-Control", "max-age=60", "status")]
    [InlineData(200, "Expires", "0", "no_freshness")]
    [InlineData(200, "Content-Type", "text/plain", "no_freshness")]
    public void A_response_that_must_not_be_stored_says_why(int status, string header, string value, string reason)
    {
        var response = Response(status, (header, value));
        if (header != "Cache-Control" && reason != "no_freshness")
        {
            response.Headers.CacheControl = "max-age=60";
        }

        Assert.Equal(reason, ProxyCachePolicy.ForResponse(response, Route).Reason);
    }

    [Fact]
    public void Expires_relative_to_date_is_a_freshness_lifetime()
    {
        var date = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var response = Response(200, ("Date", date.ToString("R")), ("Expires", date.AddSeconds(30).ToString("R")));

        Assert.Equal(30, ProxyCachePolicy.ForResponse(response, Route).Lifetime.Fresh.TotalSeconds);
    }

    [Fact]
    public void A_route_default_ttl_covers_responses_without_freshness_and_a_route_may_allow_cookies()
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, MaxTtlSeconds = 3600, DefaultTtlSeconds = 5, AllowSetCookie = true };

        var (lifetime, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Set-Cookie", "a=b")), route);

        Assert.Null(reason);
        Assert.Equal(5, lifetime.Fresh.TotalSeconds);
    }

    [Theory]
    [InlineData("GET", null, null, true, true, false)]
    [InlineData("HEAD", null, null, true, false, false)]
    [InlineData("POST", null, null, false, false, false)]
    [InlineData("GET", "Authorization", "Bearer x", false, false, false)]
    [InlineData("GET", "Cache-Control", "no-store", false, false, false)]
    [InlineData("GET", "Cache-Control", "no-cache", true, true, true)]
    [InlineData("GET", "Cache-Control", "max-age=0", true, true, true)]
    [InlineData("GET", "Pragma", "no-cache", true, true, true)]
    public void The_request_decides_whether_to_look_up_whether_to_store_and_whether_to_validate(
        string method, string? header, string? value, bool lookup, bool store, bool noCache)
    {
        var request = header is null ? Request(method) : Request(method, (header, value!));

        var decision = ProxyCachePolicy.ForRequest(request, Route);

        Assert.Equal((lookup, store, noCache), (decision.Lookup, decision.Store, decision.NoCache));
    }

    [Fact]
    public void The_clients_limits_are_read_from_its_cache_control()
    {
        var decision = ProxyCachePolicy.ForRequest(Request("GET", ("Cache-Control", "max-age=30, min-fresh=5, max-stale, only-if-cached")), Route);

        Assert.Equal((30, 5, double.PositiveInfinity, true), (decision.MaxAge, decision.MinFresh, decision.MaxStale, decision.OnlyIfCached));
    }

    [Fact]
    public void A_route_may_allow_caching_authorized_requests()
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, AllowAuthorization = true };

        Assert.True(ProxyCachePolicy.ForRequest(Request("GET", ("Authorization", "Bearer x")), route).Lookup);
    }

    [Theory]
    [InlineData("max-age=60, stale-while-revalidate=30, stale-if-error=600", 60, 30, 600, false)]
    [InlineData("s-maxage=1, stale-while-revalidate=59", 1, 59, 0, false)]
    [InlineData("max-age=60, must-revalidate, stale-while-revalidate=30", 60, 0, 0, true)]
    [InlineData("max-age=60, proxy-revalidate, stale-if-error=30", 60, 0, 0, true)]
    public void Stale_windows_come_from_rfc_5861_directives_unless_revalidation_is_required(
        string cacheControl, double fresh, double whileRevalidate, double ifError, bool mustRevalidate)
    {
        var (lifetime, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", cacheControl)), Route);

        Assert.Null(reason);
        Assert.Equal((fresh, whileRevalidate, ifError, mustRevalidate),
            (lifetime.Fresh.TotalSeconds, lifetime.WhileRevalidate.TotalSeconds, lifetime.IfError.TotalSeconds, lifetime.MustRevalidate));
    }

    [Fact]
    public void A_route_gives_stale_windows_to_responses_that_state_none()
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, MaxTtlSeconds = 3600, StaleWhileRevalidateSeconds = 10, StaleIfErrorSeconds = 300 };

        var (lifetime, _) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", "max-age=5")), route);

        Assert.Equal((10, 300, 305), (lifetime.WhileRevalidate.TotalSeconds, lifetime.IfError.TotalSeconds, lifetime.Retention.TotalSeconds));
    }

    [Theory]
    [InlineData("no-cache", "ETag", "\"v1\"")]
    [InlineData("max-age=0", "Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT")]
    public void A_response_with_a_validator_and_no_freshness_is_kept_to_be_validated_before_each_use(string cacheControl, string validator, string value)
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, MaxTtlSeconds = 3600, KeepSeconds = 600 };

        var (lifetime, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", cacheControl), (validator, value)), route);

        Assert.Null(reason);
        Assert.Equal((0, 600), (lifetime.Fresh.TotalSeconds, lifetime.Retention.TotalSeconds));
    }

    private static ProxyCachedResponse Entry(long storedAt, long expiresAt, long whileRevalidateUntil = 0, bool mustRevalidate = false) => new()
    {
        StatusCode = 200, StoredAtUnixMs = storedAt, ExpiresAtUnixMs = expiresAt, StaleWhileRevalidateUntilUnixMs = Math.Max(expiresAt, whileRevalidateUntil),
        StaleIfErrorUntilUnixMs = expiresAt, MustRevalidate = mustRevalidate, Headers = [], Body = default,
    };

    [Theory]
    [InlineData(5_000, null, ProxyCacheUse.Fresh)]
    [InlineData(5_000, "no-cache", ProxyCacheUse.Validate)]
    [InlineData(5_000, "max-age=2", ProxyCacheUse.Validate)]
    [InlineData(5_000, "min-fresh=10", ProxyCacheUse.Validate)]
    [InlineData(15_000, null, ProxyCacheUse.WhileRevalidate)]
    [InlineData(15_000, "max-stale=10", ProxyCacheUse.StaleAccepted)]
    [InlineData(40_000, null, ProxyCacheUse.Validate)]
    public void The_use_of_an_entry_depends_on_its_age_its_stale_windows_and_the_clients_limits(long now, string? cacheControl, ProxyCacheUse expected)
    {
        // Stored at 0, fresh for 10 s, stale-while-revalidate for 20 s more.
        var entry = Entry(0, 10_000, whileRevalidateUntil: 30_000);
        var request = ProxyCachePolicy.ForRequest(cacheControl is null ? Request("GET") : Request("GET", ("Cache-Control", cacheControl)), Route);

        Assert.Equal(expected, ProxyCacheFreshness.Use(entry, request, now));
    }

    [Fact]
    public void An_entry_that_must_revalidate_is_never_used_stale()
    {
        var request = ProxyCachePolicy.ForRequest(Request("GET", ("Cache-Control", "max-stale")), Route);

        Assert.Equal(ProxyCacheUse.Validate, ProxyCacheFreshness.Use(Entry(0, 10_000, 30_000, mustRevalidate: true), request, 15_000));
    }
}

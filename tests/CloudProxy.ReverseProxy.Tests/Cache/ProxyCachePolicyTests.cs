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
        var (ttl, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", cacheControl)), Route, TimeProvider.System);

        Assert.Null(reason);
        Assert.Equal(seconds, ttl.TotalSeconds);
    }

    [Fact]
    public void The_age_the_back_end_reports_is_taken_off_the_freshness()
    {
        var (ttl, _) = ProxyCachePolicy.ForResponse(Response(200, ("Cache-Control", "max-age=60"), ("Age", "50")), Route, TimeProvider.System);

        Assert.Equal(10, ttl.TotalSeconds);
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

        Assert.Equal(reason, ProxyCachePolicy.ForResponse(response, Route, TimeProvider.System).Reason);
    }

    [Fact]
    public void Expires_relative_to_date_is_a_freshness_lifetime()
    {
        var date = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var response = Response(200, ("Date", date.ToString("R")), ("Expires", date.AddSeconds(30).ToString("R")));

        Assert.Equal(30, ProxyCachePolicy.ForResponse(response, Route, TimeProvider.System).Ttl.TotalSeconds);
    }

    [Fact]
    public void A_route_default_ttl_covers_responses_without_freshness_and_a_route_may_allow_cookies()
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, MaxTtlSeconds = 3600, DefaultTtlSeconds = 5, AllowSetCookie = true };

        var (ttl, reason) = ProxyCachePolicy.ForResponse(Response(200, ("Set-Cookie", "a=b")), route, TimeProvider.System);

        Assert.Null(reason);
        Assert.Equal(5, ttl.TotalSeconds);
    }

    [Theory]
    [InlineData("GET", null, null, true, true)]
    [InlineData("HEAD", null, null, true, false)]
    [InlineData("POST", null, null, false, false)]
    [InlineData("GET", "Authorization", "Bearer x", false, false)]
    [InlineData("GET", "Cache-Control", "no-store", false, false)]
    [InlineData("GET", "Cache-Control", "no-cache", false, true)]
    [InlineData("GET", "Cache-Control", "max-age=0", false, true)]
    [InlineData("GET", "Pragma", "no-cache", false, true)]
    public void The_request_decides_whether_to_look_up_and_whether_to_store(string method, string? header, string? value, bool lookup, bool store)
    {
        var request = header is null ? Request(method) : Request(method, (header, value!));

        Assert.Equal(new CacheRequestDecision(lookup, store), ProxyCachePolicy.ForRequest(request, Route));
    }

    [Fact]
    public void A_route_may_allow_caching_authorized_requests()
    {
        var route = new ProxyRouteSettings { RouteId = "r", CacheEnabled = true, AllowAuthorization = true };

        Assert.Equal(new CacheRequestDecision(true, true), ProxyCachePolicy.ForRequest(Request("GET", ("Authorization", "Bearer x")), route));
    }
}

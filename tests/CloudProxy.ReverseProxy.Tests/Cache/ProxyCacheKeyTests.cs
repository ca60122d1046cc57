using CloudProxy.ReverseProxy.Cache;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Tests.Cache;

public class ProxyCacheKeyTests
{
    private static HttpRequest Request(string method, string host, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString(host);
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        return context.Request;
    }

    [Fact]
    public void Query_order_and_encoding_and_host_case_do_not_change_the_key()
    {
        var a = ProxyCacheKey.For(Request("GET", "Shop.Example", "/p", "?b=2&a=%31&a=0"));
        var b = ProxyCacheKey.For(Request("GET", "shop.example", "/p", "?a=0&a=1&b=2"));

        Assert.Equal(a, b);
        Assert.Contains("a=0&a=1&b=2", a, StringComparison.Ordinal);
    }

    [Fact]
    public void Path_host_and_query_values_do_change_the_key()
    {
        var key = ProxyCacheKey.For(Request("GET", "h", "/p", "?a=1"));

        Assert.NotEqual(key, ProxyCacheKey.For(Request("GET", "h", "/P", "?a=1")));
        Assert.NotEqual(key, ProxyCacheKey.For(Request("GET", "h2", "/p", "?a=1")));
        Assert.NotEqual(key, ProxyCacheKey.For(Request("GET", "h", "/p", "?a=2")));
    }

    [Fact]
    public void Head_shares_the_get_key_and_a_huge_url_gets_a_bounded_key()
    {
        Assert.Equal(ProxyCacheKey.For(Request("GET", "h", "/p", "")), ProxyCacheKey.For(Request("HEAD", "h", "/p", "")));
        Assert.True(ProxyCacheKey.For(Request("GET", "h", "/" + new string('x', 10_000), "")).Length < 120);
    }

    [Fact]
    public void A_stored_response_round_trips_through_its_bytes_and_damaged_bytes_read_as_a_miss()
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = 203;
        context.Response.Headers.ContentType = "text/plain";
        context.Response.Headers["X-Two"] = new(["1", "2"]);
        context.Response.Headers.TransferEncoding = "chunked";
        var lifetime = new ProxyCacheLifetime(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(7), TimeSpan.Zero, false);
        var entry = ProxyCachedResponse.Create(203, context.Response.Headers, "hello"u8.ToArray(), 10, lifetime, ["Accept-Language"], "accept-language:en\n",
            "/p?a=1", ["t1", "t2"]);

        var bytes = entry.Serialize();
        var back = ProxyCachedResponse.Deserialize(bytes)!;

        Assert.Equal(203, back.StatusCode);
        Assert.Equal((10L, 20L, 25L, 27L), (back.StoredAtUnixMs, back.ExpiresAtUnixMs, back.StaleWhileRevalidateUntilUnixMs, back.StaleIfErrorUntilUnixMs));
        Assert.Equal("/p?a=1", back.Url);
        Assert.Equal(["t1", "t2"], back.Tags);
        Assert.Equal("hello"u8.ToArray(), back.Body.ToArray());
        Assert.Equal(["1", "2"], back.Headers.Single(h => h.Key == "X-Two").Value);
        Assert.DoesNotContain(back.Headers, h => h.Key == "Transfer-Encoding");
        Assert.Equal(["Accept-Language"], back.Vary);
        Assert.Null(ProxyCachedResponse.Deserialize(bytes[..^2]));
        Assert.Null(ProxyCachedResponse.Deserialize([99, 1, 2]));
    }
}

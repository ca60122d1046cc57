using CloudProxy.ReverseProxy.Cache;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Tests.Cache;

public class ProxyConditionalTests
{
    private static ProxyCachedResponse Entry(params (string Name, string Value)[] headers) => new()
    {
        StatusCode = 200, StoredAtUnixMs = 0, Headers = headers.Select(h => new KeyValuePair<string, string[]>(h.Name, [h.Value])).ToList(), Body = default,
    };

    private static HttpRequest Request(string name, string value)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers[name] = value;
        return context.Request;
    }

    [Theory]
    [InlineData("\"v1\"", true)]
    [InlineData("W/\"v1\"", true)]
    [InlineData("\"v0\", \"v1\"", true)]
    [InlineData("*", true)]
    [InlineData("\"v2\"", false)]
    [InlineData("garbage", false)]
    public void If_none_match_compares_entity_tags_weakly(string ifNoneMatch, bool notModified) =>
        Assert.Equal(notModified, ProxyConditional.NotModified(Request("If-None-Match", ifNoneMatch), Entry(("ETag", "\"v1\""))));

    [Theory]
    [InlineData("Wed, 01 Jan 2025 00:00:00 GMT", true)]
    [InlineData("Tue, 31 Dec 2024 23:59:59 GMT", false)]
    [InlineData("not a date", false)]
    public void If_modified_since_compares_with_the_entrys_last_modified(string since, bool notModified) =>
        Assert.Equal(notModified, ProxyConditional.NotModified(Request("If-Modified-Since", since), Entry(("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT"))));

    [Fact]
    public void If_none_match_decides_alone_when_both_are_sent()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.IfNoneMatch = "\"v2\"";
        context.Request.Headers.IfModifiedSince = "Wed, 01 Jan 2025 00:00:00 GMT";

        Assert.False(ProxyConditional.NotModified(context.Request, Entry(("ETag", "\"v1\""), ("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT"))));
    }
}

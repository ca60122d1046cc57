using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Tests.RateLimiting;

public class ProxyRateLimitHeadersTests
{
    [Fact]
    public void The_fields_follow_the_drafts_structured_field_syntax()
    {
        var headers = new HeaderDictionary();

        ProxyRateLimitHeaders.Write(headers, "api", new ProxyRateLimit(600, 600, RateLimitAlgorithm.TokenBucket),
            new ProxyRateLimitDecision(true, 42, TimeSpan.FromMilliseconds(9_001)));

        Assert.Equal("\"api\";q=600;w=60", headers["RateLimit-Policy"].ToString());
        Assert.Equal("\"api\";r=42;t=10", headers["RateLimit"].ToString());
    }

    [Fact]
    public void A_burst_other_than_the_rate_goes_in_a_vendor_parameter()
    {
        Assert.Equal("\"api\";q=60;w=60;cloudproxy-burst=10",
            ProxyRateLimitHeaders.PolicyValue("\"api\"", new ProxyRateLimit(60, 10, RateLimitAlgorithm.TokenBucket)));
    }

    [Fact]
    public void Fields_the_back_end_sent_are_kept_and_ours_appended()
    {
        var headers = new HeaderDictionary { ["RateLimit"] = "\"origin\";r=5" };

        ProxyRateLimitHeaders.Write(headers, "api", new ProxyRateLimit(60, 60, RateLimitAlgorithm.SlidingWindow),
            new ProxyRateLimitDecision(true, 1, TimeSpan.Zero));

        Assert.Equal("\"origin\";r=5,\"api\";r=1;t=0", string.Join(",", headers["RateLimit"].ToArray()));
    }

    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("a\"b\\c", "\"a\\\"b\\\\c\"")]
    [InlineData("caf\u00e9\n", "\"caf__\"")]
    public void Policy_names_are_valid_sf_strings(string name, string expected) =>
        Assert.Equal(expected, ProxyRateLimitHeaders.SfString(name));
}

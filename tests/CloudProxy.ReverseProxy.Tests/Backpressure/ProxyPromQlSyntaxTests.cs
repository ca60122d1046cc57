using CloudProxy.ReverseProxy.Backpressure;

namespace CloudProxy.ReverseProxy.Tests.Backpressure;

public class ProxyPromQlSyntaxTests
{
    [Theory]
    [InlineData("up")]
    [InlineData("sum(rate(http_requests_total{job=\"api\", path=~\"/a(b\"}[5m])) by (code) > 0.5")]
    [InlineData("histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m]))) # a comment (")]
    public void Well_formed_queries_pass(string query) => Assert.Null(ProxyPromQlSyntax.Problem(query));

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("rate(x[5m]", "unclosed '('")]
    [InlineData("rate(x[5m)]", "unmatched ')'")]
    [InlineData("x{job=\"api}", "unterminated string")]
    [InlineData("sum(x) >", "ends with the operator '>'")]
    public void Malformed_queries_say_what_is_wrong(string query, string problem) =>
        Assert.Contains(problem, ProxyPromQlSyntax.Problem(query), StringComparison.Ordinal);
}

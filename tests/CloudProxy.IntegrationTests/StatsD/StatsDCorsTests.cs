using System.Net;

namespace CloudProxy.IntegrationTests.StatsD;

public sealed class StatsDCorsTests(DefaultStatsDHost host) : IClassFixture<DefaultStatsDHost>
{
    [Theory]
    [InlineData("/count/cors.a")]
    [InlineData("/gauge/cors.a")]
    [InlineData("/timing/cors.a")]
    [InlineData("/set/cors.a")]
    [InlineData("/batch")]
    public async Task Preflight_from_another_origin_allows_the_JWT_header_and_content_type(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", "https://shop.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-jwt-token");
        var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://shop.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var allowed = string.Join(',', response.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.Contains("X-JWT-Token", allowed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Content-Type", allowed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("POST", string.Join(',', response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        Assert.Equal(["Origin"], response.Headers.Vary);
    }

    [Fact]
    public async Task Actual_request_from_another_origin_gets_its_origin_back_and_Vary_Origin()
    {
        var response = await host.PostAsync("/count/cors.b", origin: "https://shop.example");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https://shop.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Origin", response.Headers.Vary);
    }

    [Fact]
    public async Task Request_without_an_origin_gets_no_CORS_headers_but_still_Vary_Origin()
    {
        var response = await host.PostAsync("/count/cors.c");
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Contains("Origin", response.Headers.Vary);
    }
}

using System.Net;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>statsd-http-proxy's JWT rules against the real host started with --jwt-secret.</summary>
public sealed class StatsDJwtTests(JwtStatsDHost host) : IClassFixture<JwtStatsDHost>
{
    private static readonly string[] None = [];
    private static readonly string Valid = TestTokens.Hs("HS256", JwtStatsDHost.Secret);

    [Fact]
    public async Task Request_without_a_token_is_401_and_nothing_is_sent()
    {
        var response = await host.PostAsync("/count/j1.a");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Token not specified\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(None, await host.LinesAfterMarkerAsync("j1.", Valid));
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public async Task Token_in_the_header_signed_with_the_secret_is_accepted(string alg)
    {
        var key = "j2." + alg;
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/" + key, token: TestTokens.Hs(alg, JwtStatsDHost.Secret))).StatusCode);
        Assert.Equal([key + ":1|c"], await host.LinesAsync(key, 1));
    }

    [Fact]
    public async Task Token_in_the_query_string_is_accepted()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/timing/j3.a?time=5&token=" + Valid)).StatusCode);
        Assert.Equal(["j3.a:5|ms"], await host.LinesAsync("j3.", 1));
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "bad-signature", TestTokens.Hs("HS256", "othersecret") },
        { "tampered", TestTokens.Tampered(JwtStatsDHost.Secret) },
        { "expired", TestTokens.Hs("HS256", JwtStatsDHost.Secret, exp: DateTimeOffset.FromUnixTimeSeconds(1_600_000_000).ToUnixTimeSeconds()) },
        { "alg-none", TestTokens.None() },
        { "rs256", TestTokens.Rs256() },
        { "garbage", "not.a.token" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Invalid_token_is_403_and_nothing_is_sent(string name, string token)
    {
        var key = "j4." + name;
        var response = await host.PostAsync("/count/" + key, token: token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.StartsWith("Error parsing token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var viaQuery = await host.PostAsync($"/count/{key}?token={Uri.EscapeDataString(token)}");
        Assert.Equal(HttpStatusCode.Forbidden, viaQuery.StatusCode);
        Assert.Equal(None, await host.LinesAfterMarkerAsync(key, Valid));
    }

    [Fact]
    public async Task Batch_needs_a_token_too()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.PostAsync("/batch", StatsDHostFixture.Text("j5.a:1|c"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/batch", StatsDHostFixture.Text("j5.a:1|c"), Valid)).StatusCode);
        Assert.Equal(["j5.a:1|c"], await host.LinesAsync("j5.", 1));
    }

    [Fact]
    public async Task Heartbeat_and_preflight_need_no_token()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync(new Uri("/heartbeat", UriKind.Relative))).StatusCode);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/count/j6.a");
        preflight.Headers.Add("Origin", "http://page.test");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-jwt-token");
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(preflight)).StatusCode);
    }

    [Fact]
    public async Task A_401_to_another_origin_carries_CORS_headers_so_the_page_can_read_it()
    {
        var response = await host.PostAsync("/count/j7.a", origin: "http://page.test");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("http://page.test", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}

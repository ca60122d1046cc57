using System.Globalization;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// A real browser on another origin posts metrics with fetch and an X-JWT-Token header: the preflight and
/// the POST must succeed and the datagram must reach the UDP listener.
/// </summary>
public sealed class StatsDBrowserTests(ChromiumFixture browser) : IClassFixture<ChromiumFixture>
{
    private const string Secret = "browser-secret";

    private static string Page(Uri proxy, string path, string token, string body) => $$"""
        <!doctype html>
        <html><head><title>pending</title></head><body><script>
        const report = v => fetch('/result/' + location.pathname.split('/').pop() + '?value=' + encodeURIComponent(v));
        fetch('{{new Uri(proxy, path)}}', {
          method: 'POST',
          mode: 'cors',
          headers: { 'X-JWT-Token': '{{token}}', 'Content-Type': 'application/x-www-form-urlencoded' },
          body: '{{body}}'
        }).then(r => { document.title = 'status:' + r.status; return report('status:' + r.status); })
          .catch(e => { document.title = 'error:' + e; return report('error:' + e.name); });
        </script></body></html>
        """;

    [Fact]
    public async Task Page_on_another_origin_posts_a_metric_with_a_JWT_header_and_the_datagram_arrives()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(["--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret]);
        Assert.NotEqual(host.BaseAddress.Port, browser.PageOrigin.Port);
        var preflightsBefore = await host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "preflight"), ("outcome", "ok"));

        browser.Pages["jwt"] = Page(host.BaseAddress, "/count/browser.clicks", TestTokens.Hs("HS256", Secret), "value=3");
        var result = await browser.OpenAsync("jwt", TimeSpan.FromSeconds(60));

        Assert.Equal("status:200", result);
        Assert.True(await udp.WaitForLinesAsync(1));
        Assert.Equal(["browser.clicks:3|c"], udp.Lines);
        Assert.Equal(preflightsBefore + 1, await host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "preflight"), ("outcome", "ok")));
    }

    [Fact]
    public async Task Page_with_a_bad_token_sees_the_403_because_CORS_headers_are_on_errors_too()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(["--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret]);
        browser.Pages["badtoken"] = Page(host.BaseAddress, "/count/browser.denied", TestTokens.Hs("HS256", "wrong"), "value=1");
        Assert.Equal("status:403", await browser.OpenAsync("badtoken", TimeSpan.FromSeconds(60)));
        Assert.Empty(udp.Datagrams);
    }

    [Fact]
    public async Task Page_from_an_origin_not_in_AllowedOrigins_is_blocked_by_the_browser()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(
        [
            "--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture),
            "--CloudProxy:StatsD:Ingress:AllowedOrigins:0=https://only.example",
        ]);
        browser.Pages["blocked"] = Page(host.BaseAddress, "/count/browser.blocked", "x", "value=1");
        Assert.Equal("error:TypeError", await browser.OpenAsync("blocked", TimeSpan.FromSeconds(60)));
        Assert.Empty(udp.Datagrams);
    }
}

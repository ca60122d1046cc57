using System.Globalization;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// Issue 16: a real <c>navigator.sendBeacon</c>, fired on <c>pagehide</c> as the page navigates away, from
/// another origin. A beacon cannot set headers and sends a string as <c>text/plain</c> (a CORS simple request,
/// no preflight), so the JWT rides in the query or the body. The lines must reach the UDP listener.
/// </summary>
public sealed class StatsDBeaconTests(ChromiumFixture browser) : IClassFixture<ChromiumFixture>
{
    private const string Secret = "beacon-secret";

    [Fact]
    public async Task Beacons_sent_on_pagehide_with_the_token_in_body_or_query_reach_StatsD_without_a_preflight()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(["--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture), "--jwt-secret", Secret]);
        var token = TestTokens.Hs("HS256", Secret);
        var proxy = host.BaseAddress.ToString().TrimEnd('/');
        var preflightsBefore = await host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "preflight"));

        browser.Pages["beacon"] = $$"""
            <!doctype html>
            <html><head><title>beacon</title></head><body><script>
            const queued = [];
            addEventListener('pagehide', () => {
              queued.push(navigator.sendBeacon('{{proxy}}/batch', 'token={{token}}\nbeacon.batch:2|c\nbeacon.timing:12|ms\n'));
              queued.push(navigator.sendBeacon('{{proxy}}/count/beacon.count?token={{token}}', 'value=5'));
              queued.push(navigator.sendBeacon('{{proxy}}/gauge/beacon.gauge', 'value=7&token={{token}}'));
              queued.push(navigator.sendBeacon('{{proxy}}/count/beacon.denied', 'value=1'));
            });
            setTimeout(() => { location.href = '/page/beacon-next'; }, 100);
            </script></body></html>
            """;
        browser.Pages["beacon-next"] = """
            <!doctype html>
            <html><head><title>next</title></head><body><script>
            fetch('/result/beacon?value=navigated');
            </script></body></html>
            """;

        Assert.Equal("navigated", await browser.OpenAsync("beacon", TimeSpan.FromSeconds(60)));
        Assert.True(await udp.WaitForLinesAsync(4), "beacon lines never arrived: " + string.Join(" ", udp.Lines));
        await Eventually.TrueAsync(async () => await host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "token_missing")) >= 1);

        Assert.Equal(["beacon.batch:2|c", "beacon.count:5|c", "beacon.gauge:7|g", "beacon.timing:12|ms"], udp.Lines.Order(StringComparer.Ordinal));
        Assert.Equal(preflightsBefore, await host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "preflight")));
        Assert.Equal(1, await host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "batch"), ("outcome", "ok")));
        Assert.Equal(1, await host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "token_missing")));
    }
}

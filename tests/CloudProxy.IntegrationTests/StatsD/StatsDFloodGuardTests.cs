using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>Issue 16: the flood limit and the cardinality guard in the real host, lines checked at a real UDP listener.</summary>
public sealed class StatsDFloodGuardTests
{
    [Fact]
    public async Task Client_past_its_burst_gets_429_with_Retry_After_and_only_the_admitted_lines_arrive()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(
        [
            "--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture),
            "--statsd-client-rps", "0.01", "--CloudProxy:StatsD:Ingress:ClientBurst=4",
        ]);
        var statuses = new List<int>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 7; i++)
        {
            last = await host.Client.PostAsync(new Uri($"/count/flood.n{i}", UriKind.Relative), null);
            statuses.Add((int)last.StatusCode);
        }

        Assert.Equal([200, 200, 200, 200, 429, 429, 429], statuses);
        Assert.Equal(TimeSpan.FromSeconds(100), last!.Headers.RetryAfter?.Delta);
        Assert.True(await udp.WaitForLinesAsync(4));
        await Task.Delay(300);
        Assert.Equal(["flood.n0:1|c", "flood.n1:1|c", "flood.n2:1|c", "flood.n3:1|c"], udp.Lines);
        Assert.Equal(3, await host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "flood_client")));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync(new Uri("/heartbeat", UriKind.Relative))).StatusCode); // not limited
    }

    [Fact]
    public async Task A_client_inventing_names_is_stopped_at_the_limit_while_known_names_keep_flowing()
    {
        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(
        [
            "--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture), "--metric-prefix", "web",
            "--statsd-max-names-per-prefix", "3", "--CloudProxy:StatsD:Ingress:MaxPrefixes=2",
        ]);

        // One bad client puts a user id in the name: 50 distinct names under "page".
        var body = new StringBuilder();
        for (var i = 0; i < 50; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $"page.user{i}.load:1|c\n");
        }

        var response = await host.Client.PostAsync(new Uri("/batch", UriKind.Relative), new StringContent(body.ToString(), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal(50, json.RootElement.GetProperty("entries").GetInt32());
            Assert.Equal(3, json.RootElement.GetProperty("accepted").GetInt32());
            Assert.Equal(47, json.RootElement.GetProperty("refused").GetInt32());
            var listed = json.RootElement.GetProperty("refusals").EnumerateArray().ToList();
            Assert.Equal(10, listed.Count);
            Assert.Equal("web.page.user3.load", listed[0].GetProperty("key").GetString());
            Assert.All(listed, r => Assert.Equal("cardinality_prefix", r.GetProperty("code").GetString()));
        }

        // Known names still pass; a second prefix is fine, a third is not.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync(new Uri("/count/page.user1.load", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync(new Uri("/timing/api.latency?time=5", UriKind.Relative), null)).StatusCode);
        var third = await host.Client.PostAsync(new Uri("/count/cart.add", UriKind.Relative), null);
        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.Contains("MaxPrefixes", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(third.Headers.RetryAfter?.Delta);

        Assert.True(await udp.WaitForLinesAsync(5));
        await Task.Delay(300);
        Assert.Equal(["web.page.user0.load:1|c", "web.page.user1.load:1|c", "web.page.user2.load:1|c", "web.page.user1.load:1|c", "web.api.latency:5|ms"], udp.Lines);
        Assert.Equal(47, await host.MetricAsync(StatsDMetricNames.LinesRefused, ("reason", "cardinality_prefix")));
        Assert.Equal(1, await host.MetricAsync(StatsDMetricNames.LinesRefused, ("reason", "cardinality_prefixes")));
        Assert.Equal(3, await host.MetricAsync(StatsDMetricNames.DistinctNamesLargest, ("scope", "prefix")));
        Assert.Equal(4, await host.MetricAsync(StatsDMetricNames.DistinctNames, ("scope", "prefix")));
        Assert.Equal(2, await host.MetricAsync(StatsDMetricNames.DistinctPrefixes));
    }
}

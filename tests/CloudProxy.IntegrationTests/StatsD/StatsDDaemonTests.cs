using System.Globalization;
using System.Net;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// End to end against a real StatsD: metrics posted to cloudproxy over HTTP are aggregated by etsy statsd
/// and flushed to a graphite listener; the test checks the aggregated values.
/// </summary>
public sealed class StatsDDaemonTests(StatsDDaemonFixture daemon) : IClassFixture<StatsDDaemonFixture>
{
    private Task<RunningHost> StartHost() =>
        // An explicit array: with loose string arguments C# picks StartAsync(spoolPath, params args).
        RunningHost.StartAsync(["--statsd-port", daemon.Port.ToString(CultureInfo.InvariantCulture), "--metric-prefix", "proxy"]);

    private async Task<bool> Flushed(string path, Func<List<double>, bool> condition) =>
        await Eventually.TrueAsync(() => condition(daemon.Values(path)), TimeSpan.FromSeconds(15));

    [Fact]
    public async Task Batch_is_aggregated_by_statsd_counters_timers_gauges_and_sets()
    {
        await using var host = await StartHost();
        var body = """
            [
              {"type":"count","key":"d1.orders","value":3},
              {"type":"count","key":"d1.orders","value":4},
              {"type":"timing","key":"d1.load","value":10},
              {"type":"timing","key":"d1.load","value":20},
              {"type":"timing","key":"d1.load","value":60},
              {"type":"gauge","key":"d1.queue","value":10},
              {"type":"gauge","key":"d1.queue","shift":-3},
              {"type":"set","key":"d1.users","value":"ann"},
              {"type":"set","key":"d1.users","value":"bob"},
              {"type":"set","key":"d1.users","value":"ann"}
            ]
            """;
        var response = await host.Client.PostAsync(new Uri("/batch", UriKind.Relative), StatsDHostFixture.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.True(await Flushed("stats.counters.proxy.d1.orders.count", v => v.Sum() == 7), daemon.Describe());
        Assert.True(await Flushed("stats.timers.proxy.d1.load.mean", v => v.Contains(30)));
        Assert.Contains(60, daemon.Values("stats.timers.proxy.d1.load.upper"));
        Assert.Contains(3, daemon.Values("stats.timers.proxy.d1.load.count"));
        Assert.True(await Flushed("stats.gauges.proxy.d1.queue", v => v.Contains(7)));
        Assert.True(await Flushed("stats.sets.proxy.d1.users.count", v => v.Contains(2)));
        Assert.DoesNotContain(daemon.Values("stats.counters.statsd.bad_lines_seen.count"), v => v > 0);
    }

    [Fact]
    public async Task Single_endpoint_posts_add_up_and_a_client_sampled_line_is_scaled_by_statsd()
    {
        await using var host = await StartHost();
        for (var i = 0; i < 5; i++)
        {
            var response = await host.Client.PostAsync(new Uri("/count/d2.clicks", UriKind.Relative), StatsDHostFixture.Form(("value", "2")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A client that sampled itself at 10% sends the line with @0.1; statsd counts it ten times.
        var sampled = await host.Client.PostAsync(new Uri("/batch", UriKind.Relative), StatsDHostFixture.Text("d2.sampled:1|c|@0.1"));
        Assert.Equal(HttpStatusCode.OK, sampled.StatusCode);

        Assert.True(await Flushed("stats.counters.proxy.d2.clicks.count", v => v.Sum() == 10), daemon.Describe());
        Assert.True(await Flushed("stats.counters.proxy.d2.sampled.count", v => v.Sum() == 10));
    }

    [Fact]
    public async Task Negative_gauge_reaches_statsd_as_the_value_not_as_a_decrement()
    {
        await using var host = await StartHost();
        await host.Client.PostAsync(new Uri("/gauge/d3.temp", UriKind.Relative), StatsDHostFixture.Form(("value", "20")));
        Assert.True(await Flushed("stats.gauges.proxy.d3.temp", v => v.Contains(20)));
        await host.Client.PostAsync(new Uri("/gauge/d3.temp", UriKind.Relative), StatsDHostFixture.Form(("value", "-5")));
        Assert.True(await Flushed("stats.gauges.proxy.d3.temp", v => v.Count > 0 && v[^1] == -5), string.Join(",", daemon.Values("stats.gauges.proxy.d3.temp")));
    }
}

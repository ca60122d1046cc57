using System.Net;
using System.Text;
using CloudProxy.StatsD;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>Sanitize mode, body and batch limits and datagram packing (MaxDatagramBytes=64) on the real host.</summary>
public sealed class StatsDLimitsTests(StrictStatsDHost host) : IClassFixture<StrictStatsDHost>
{
    [Fact]
    public async Task Injected_key_is_sanitized_like_etsy_statsd_when_configured()
    {
        var response = await host.PostAsync("/count/" + Uri.EscapeDataString("l1.a:1|c\nevil key/x@0.1#t"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["l1.a1c_evil_key-x0.1t:1|c"], await host.LinesAsync("l1.", 1));
    }

    [Fact]
    public async Task Key_that_sanitizes_to_nothing_is_still_a_400()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await host.PostAsync("/count/" + Uri.EscapeDataString("::||"))).StatusCode);
    }

    [Fact]
    public async Task Text_batch_is_packed_into_datagrams_of_at_most_the_configured_size_never_splitting_a_line()
    {
        // 12 lines of 15 bytes: four lines and three newlines make 63 bytes; a fifth would make 79 > 64.
        var lines = Enumerable.Range(0, 12).Select(i => $"l2.metric{i:D2}:1|c").ToList();
        var before = host.Udp.Datagrams.Count;
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/batch", StatsDHostFixture.Text(string.Join('\n', lines)))).StatusCode);
        Assert.Equal(lines, await host.LinesAsync("l2.", 12));
        var datagrams = host.Udp.Datagrams.Skip(before).Select(d => Encoding.UTF8.GetString(d)).Where(d => d.StartsWith("l2.", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [string.Join('\n', lines[0..4]), string.Join('\n', lines[4..8]), string.Join('\n', lines[8..12])],
            datagrams);
    }

    [Fact]
    public async Task Line_longer_than_the_datagram_size_arrives_alone_and_is_counted()
    {
        var longKey = "l3." + new string('k', 80);
        var oversizeBefore = await host.Host.MetricAsync(StatsDMetricNames.OversizeLines);
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/batch", StatsDHostFixture.Text($"l3.a:1|c\n{longKey}:1|c\nl3.b:1|c"))).StatusCode);
        await host.LinesAsync("l3.", 3);
        var datagrams = host.Udp.Datagrams.Select(d => Encoding.UTF8.GetString(d)).Where(d => d.StartsWith("l3.", StringComparison.Ordinal)).ToList();
        Assert.Contains(longKey + ":1|c", datagrams);
        Assert.Equal(oversizeBefore + 1, await host.Host.MetricAsync(StatsDMetricNames.OversizeLines));
    }

    [Fact]
    public async Task Body_over_MaxBodyBytes_is_a_413_and_nothing_is_sent()
    {
        var big = string.Join('\n', Enumerable.Range(0, 35).Select(i => $"l4.{new string('p', 50)}.{i:D3}:1|c"));
        Assert.True(big.Length > 2048);
        Assert.True(big.Split('\n').Length <= 40);
        var response = await host.PostAsync("/batch", StatsDHostFixture.Text(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal([], await host.LinesAfterMarkerAsync("l4."));
    }

    [Fact]
    public async Task Batch_over_MaxBatchMetrics_is_a_413_and_nothing_is_sent()
    {
        var body = string.Join('\n', Enumerable.Range(0, 41).Select(i => $"l5.{i}:1|c"));
        var response = await host.PostAsync("/batch", StatsDHostFixture.Text(body));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MaxBatchMetrics", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal([], await host.LinesAfterMarkerAsync("l5."));
    }

    [Fact]
    public async Task Tags_are_refused_unless_enabled()
    {
        var response = await host.PostAsync("/count/l6.a", StatsDHostFixture.Form(("tags", "env:prod")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("DogStatsDTags", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

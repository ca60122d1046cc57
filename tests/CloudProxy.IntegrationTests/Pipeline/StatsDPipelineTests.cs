using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.Pipeline;

/// <summary>
/// The whole path with real parts: HTTP into the real host, the outbox and SQLite spool, the StatsD
/// forwarder, and the bytes a real listener received. The upstream is made unavailable by not listening yet.
/// </summary>
public class StatsDPipelineTests
{
    private static async Task PostCountsAsync(RunningHost host, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var body = new FormUrlEncodedContent([new("value", "1")]);
            using var response = await host.Client.PostAsync(new Uri($"/count/{prefix}.m{i}", UriKind.Relative), body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static void AssertExactlyOnce(IEnumerable<string> lines, string prefix, int count)
    {
        var expected = Enumerable.Range(0, count).Select(i => $"{prefix}.m{i}:1|c").Order(StringComparer.Ordinal);
        Assert.Equal(expected, lines.Where(l => l.StartsWith(prefix + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    private static string[] TcpStatsD(int port) =>
    [
        "--statsd-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--CloudProxy:StatsD:Forwarder:Protocol=Tcp",
        "--CloudProxy:Outbox:MaxBackoffSeconds=0.2",
    ];

    [Fact]
    public async Task StatsD_down_while_metrics_arrive_then_up_delivers_every_accepted_metric_exactly_once()
    {
        var port = Loopback.FreeTcpPort();
        await using var host = await RunningHost.StartAsync(TcpStatsD(port));

        await PostCountsAsync(host, "outage", 200);
        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.SpoolEnvelopes) > 0), "nothing was kept while StatsD was down");

        await using var statsd = new TcpLineSink(port);
        Assert.True(await statsd.WaitForLinesAsync(200, TimeSpan.FromSeconds(30)), $"only {statsd.Lines.Count} lines arrived");
        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.SpoolEnvelopes) == 0));
        await Task.Delay(500); // a duplicate would arrive within the next pump round
        AssertExactlyOnce(statsd.Lines, "outage", 200);
        Assert.Equal(0, await host.MetricAsync(CoreMetricNames.Refused));
    }

    [Fact]
    public async Task Metrics_accepted_before_a_restart_are_delivered_once_by_the_next_process()
    {
        var port = Loopback.FreeTcpPort();
        var spool = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-restart-").FullName, "spool");
        await using (var first = await RunningHost.StartWithSpoolAsync(spool, [.. TcpStatsD(port), "--CloudProxy:Outbox:DrainTimeoutSeconds=1"]))
        {
            await PostCountsAsync(first, "restart", 100);
        }

        await using var statsd = new TcpLineSink(port);
        await using var second = await RunningHost.StartWithSpoolAsync(spool, TcpStatsD(port));
        Assert.True(await statsd.WaitForLinesAsync(100, TimeSpan.FromSeconds(30)), $"only {statsd.Lines.Count} lines arrived");
        Assert.True(await Eventually.TrueAsync(async () => await second.MetricAsync(CoreMetricNames.SpoolEnvelopes) == 0));
        await Task.Delay(500);
        AssertExactlyOnce(statsd.Lines, "restart", 100);
    }

    [Fact]
    public async Task Full_spool_refuses_with_503_and_counts_every_refusal()
    {
        // The smallest bound the spool takes (1 MiB), filled by batches of 5,000 lines while StatsD is down.
        var port = Loopback.FreeTcpPort();
        await using var host = await RunningHost.StartAsync([.. TcpStatsD(port), "--spool-max-bytes", "1048576"]);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            var lines = string.Concat(Enumerable.Range(0, 5000).Select(j => $"full.b{i}.m{j}:1|c\n"));
            using var body = new StringContent(lines, System.Text.Encoding.UTF8, "text/plain");
            using var response = await host.Client.PostAsync(new Uri("/batch", UriKind.Relative), body);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            }
        }

        var refused = statuses.Count(s => s == HttpStatusCode.ServiceUnavailable);
        Assert.InRange(refused, 1, 39);
        Assert.Equal(refused, await host.MetricAsync(CoreMetricNames.Refused));
        Assert.True(await host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "outbox_full")) >= 1);

        await using var statsd = new TcpLineSink(port);
        var accepted = statuses.Count(s => s == HttpStatusCode.OK) * 5000;
        Assert.True(await statsd.WaitForLinesAsync(accepted, TimeSpan.FromSeconds(60)), $"{statsd.Lines.Count} of {accepted} lines arrived");
        await Task.Delay(500);
        Assert.Equal(accepted, statsd.Lines.Count);
    }

    [Fact]
    public async Task Through_dapr_ingress_and_forwarder_in_separate_processes_deliver_the_datagrams_and_the_trace()
    {
        // Each process with its own sidecar, configured as components/ and dapr.yaml configure daprd, meeting in a
        // real Redis stream; the forwarder's sidecar delivers to it as daprd does.
        await using var redis = await RedisServer.StartAsync();
        await using var ingressSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "statsd-ingress"));
        await using var forwarderSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "statsd-forwarder"));
        using var udp = new UdpSink();
        await using var ingress = await RunningHost.StartAsync([.. ingressSidecar.HostArguments(), "--services", "statsd-ingress"]);
        await using var forwarder = await RunningHost.StartAsync([.. forwarderSidecar.HostArguments(), "--services", "statsd-forwarder", "--statsd-port", udp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Contains("statsd", await forwarderSidecar.SubscribeAppAsync(forwarder.BaseAddress));

        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        for (var i = 0; i < 20; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/count/dapr.m{i}", UriKind.Relative))
            {
                Content = new FormUrlEncodedContent([new("value", "1")]),
            };
            request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
            using var response = await ingress.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(await udp.WaitForLinesAsync(20), $"udp got {udp.Lines.Count} lines: {string.Join(" / ", udp.Lines.Take(5))}; forwarder metrics:\n{await forwarder.ScrapeMetricsAsync()}");
        AssertExactlyOnce(udp.Lines, "dapr", 20);
        var published = await ingressSidecar.PublishedDataAsync("statsd");
        Assert.NotEmpty(published);
        Assert.All(published, data => Assert.Contains(traceId, EnvelopeCodec.Decode(data).TraceParent, StringComparison.Ordinal));
        Assert.All(forwarderSidecar.Deliveries, d => Assert.Equal(200, d.Status));
        Assert.True(await Eventually.TrueAsync(async () => await forwarderSidecar.Broker!.PendingAsync("statsd") == 0));
    }
}

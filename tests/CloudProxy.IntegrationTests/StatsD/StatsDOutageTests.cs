using System.Globalization;
using System.Net;
using CloudProxy.Core.Metrics;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.Options;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>StatsD down, over TCP where a refused connection is certain: the ingress keeps answering.</summary>
public sealed class StatsDOutageTests
{
    private static readonly string[] Common = ["--CloudProxy:StatsD:Forwarder:Protocol=Tcp", "--CloudProxy:Outbox:MaxBackoffSeconds=0.5"];

    [Fact]
    public async Task StatsD_down_never_fails_a_request_and_every_metric_arrives_once_it_is_back()
    {
        var port = Loopback.FreeTcpPort();
        await using var host = await RunningHost.StartAsync(["--statsd-port", port.ToString(CultureInfo.InvariantCulture), .. Common]);
        for (var i = 0; i < 20; i++)
        {
            var response = await host.Client.PostAsync(new Uri($"/count/down.m{i}", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(StatsDMetricNames.SendErrors, ("protocol", "tcp")) >= 1));

        await using var statsd = new TcpLineSink(port);
        Assert.True(await statsd.WaitForLinesAsync(20, TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"down.m{i}:1|c").Order(), statsd.Lines.Distinct().Order());

        // The delivery latency histogram saw each delivered envelope once, and none of them within 5 ms: they all
        // waited for StatsD to come back.
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            var metrics = await host.ScrapeMetricsAsync();
            var delivered = PrometheusText.Sum(metrics, CoreMetricNames.Delivered, ("topic", "statsd"), ("outcome", "success"));
            return delivered >= 20
                && delivered == PrometheusText.Sum(metrics, CoreMetricNames.DeliveryLatency + "_count", ("topic", "statsd"))
                && PrometheusText.Sum(metrics, CoreMetricNames.DeliveryLatency + "_bucket", ("topic", "statsd"), ("le", "0.005")) == 0;
        }));
    }

    [Fact]
    public async Task Bad_setting_stops_start_up_naming_the_setting_and_the_flag()
    {
        var ex = await Assert.ThrowsAsync<CloudProxy.Core.Hosting.StartupException>(() =>
            RunningHost.StartAsync(["--statsd-port", "0", "--CloudProxy:StatsD:Forwarder:MaxDatagramBytes=10"]));
        Assert.Contains("CloudProxy:StatsD:Forwarder:Port (--statsd-port)", ex.Message, StringComparison.Ordinal);
        // Named once: the validator's "(--statsd-port)", not also a " (flag --statsd-port)" appended by the Host.
        Assert.DoesNotContain("(flag --statsd-port)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CloudProxy:StatsD:Forwarder:MaxDatagramBytes", ex.Message, StringComparison.Ordinal);
    }
}

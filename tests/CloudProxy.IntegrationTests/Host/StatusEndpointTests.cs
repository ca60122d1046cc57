using System.Net;
using System.Text.Json;
using CloudProxy.Core.Metrics;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Host;

public class StatusEndpointTests
{
    [Fact]
    public async Task Status_reports_version_commit_uptime_queue_depths_and_spool_size()
    {
        await using var host = await RunningHost.StartAsync();
        await Task.Delay(1200); // uptime counts from start-up, not from the first /_status request
        using var doc = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri("/_status", UriKind.Relative)));
        var root = doc.RootElement;
        Assert.Equal("ok", root.GetProperty("status").GetString());
        Assert.Equal("0.1.0", root.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("commit").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("build_time").GetString()));
        Assert.True(root.GetProperty("uptime_seconds").GetDouble() >= 1, root.GetProperty("uptime_seconds").ToString());
        Assert.Equal("embedded", root.GetProperty("transport").GetString());
        Assert.Equal(0, root.GetProperty("queues").GetProperty("outbox").GetInt64());
        Assert.Equal(0, root.GetProperty("queues").GetProperty("spool").GetInt64());
        Assert.Equal(0, root.GetProperty("spool_bytes").GetInt64());
    }

    [Fact]
    public async Task Health_and_readiness_answer_once_started()
    {
        await using var host = await RunningHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Metrics_endpoint_exports_core_gauges_from_this_host_only()
    {
        await using var host = await RunningHost.StartAsync();
        var text = await host.ScrapeMetricsAsync();
        Assert.Contains(CoreMetricNames.OutboxDepth, text, StringComparison.Ordinal);
        Assert.Contains(CoreMetricNames.SpoolBytes, text, StringComparison.Ordinal);
        Assert.Equal(1, PrometheusText.Sum(text, CoreMetricNames.PublisherHealthy));
    }
}

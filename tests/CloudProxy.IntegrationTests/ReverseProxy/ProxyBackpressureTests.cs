using System.Net;
using CloudProxy.ReverseProxy;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>The AIMD window driven by a real Prometheus query and by the back end's own 503s.</summary>
public sealed class ProxyBackpressureTests
{
    private static string[] Settings(Uri prometheus, string query) =>
    [
        "--CloudProxy:ReverseProxy:Backpressure:Enabled=true",
        "--CloudProxy:ReverseProxy:Backpressure:MinWindow=1",
        "--CloudProxy:ReverseProxy:Backpressure:MaxWindow=8",
        "--CloudProxy:ReverseProxy:Backpressure:QueueTimeoutMs=20",
        "--CloudProxy:ReverseProxy:Backpressure:EvaluationIntervalSeconds=0.5",
        "--CloudProxy:ReverseProxy:Backpressure:PrometheusUrl=" + prometheus,
        "--CloudProxy:ReverseProxy:Backpressure:Queries:0:Name=pressure",
        "--CloudProxy:ReverseProxy:Backpressure:Queries:0:Query=" + query,
    ];

    /// <summary>Bounded load: concurrent loops of uncacheable requests until stopped or 90 s pass.</summary>
    private static (Task Done, CancellationTokenSource Stop) Load(ProxyHost proxy, int concurrency, string path)
    {
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var loops = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await proxy.Client.GetAsync(path, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        return (Task.WhenAll(loops), stop);
    }

    [Fact]
    public async Task The_window_shrinks_while_the_query_fires_and_recovers_after()
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Settings(prometheus.Address, "cloudproxy_test_pressure > 0"));
        var (done, stop) = Load(proxy, 12, "/load?ms=10");
        using (stop)
        {
            Task<double> Window() => proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow);

            var full = await Tests.Common.Eventually.TrueAsync(async () => await Window() == 8, TimeSpan.FromSeconds(30));
            prometheus.Pressure = 1;
            var shrunk = await Tests.Common.Eventually.TrueAsync(async () => await Window() <= 2, TimeSpan.FromSeconds(30));
            var blocked = await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureBlocked);
            var firing = await proxy.MetricAsync(ReverseProxyMetricNames.QueryFiring, ("query", "pressure"));
            prometheus.Pressure = 0;
            var recovered = await Tests.Common.Eventually.TrueAsync(async () => await Window() >= 6, TimeSpan.FromSeconds(30));

            await stop.CancelAsync();
            await done;
            Assert.True(full, "the window did not reach its maximum under saturated load");
            Assert.True(shrunk, "the window did not shrink while the query fired");
            Assert.True(blocked > 0, "no request was refused while the window was small");
            Assert.Equal(1, firing);
            Assert.True(recovered, "the window did not grow back after the query stopped firing");
            Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureCuts, ("signal", "query")) >= 2);
        }
    }

    [Fact]
    public async Task A_value_query_between_its_thresholds_caps_the_window_in_proportion()
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        prometheus.Pressure = 75;
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
        [
            .. Settings(prometheus.Address, "cloudproxy_test_pressure"),
            "--CloudProxy:ReverseProxy:Backpressure:Queries:0:WarningThreshold=50",
            "--CloudProxy:ReverseProxy:Backpressure:Queries:0:EmergencyThreshold=100",
        ]);

        // Halfway between warning and emergency: allowance 0.5, window at most 1 + (8 - 1) * 0.5 = 4.
        var capped = await Tests.Common.Eventually.TrueAsync(async () =>
            await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureAllowance) == 0.5
            && await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow) == 4, TimeSpan.FromSeconds(30));

        Assert.True(capped);
        Assert.Equal(75, await proxy.MetricAsync(ReverseProxyMetricNames.QueryValue, ("query", "pressure")));
    }

    [Fact]
    public async Task The_back_ends_own_503s_cut_the_window()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            "--CloudProxy:ReverseProxy:Backpressure:Enabled=true", "--CloudProxy:ReverseProxy:Backpressure:MaxWindow=8");

        for (var i = 0; i < 3; i++)
        {
            using var response = await proxy.Client.GetAsync("/busy?status=503");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        Assert.Equal(4, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow));
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureCuts, ("signal", "backend_status")));
    }

    [Fact]
    public async Task A_slow_back_end_call_cuts_the_window_when_a_latency_threshold_is_set()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            "--CloudProxy:ReverseProxy:Backpressure:Enabled=true", "--CloudProxy:ReverseProxy:Backpressure:MaxWindow=8",
            "--CloudProxy:ReverseProxy:Backpressure:LatencyThresholdMs=2000");

        using var fast = await proxy.Client.GetAsync("/fast");
        var before = await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow);
        using var slow = await proxy.Client.GetAsync("/slow?ms=2500");

        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal(8, before);
        Assert.Equal(4, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow));
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureCuts, ("signal", "latency")));
    }

    [Fact]
    public async Task With_prometheus_unreachable_the_proxy_starts_serves_and_counts_query_errors()
    {
        await using var backend = await ProxyBackend.StartAsync();
        var dead = new Uri($"http://127.0.0.1:{Tests.Common.Loopback.FreeTcpPort()}");
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Settings(dead, "up == 0"));

        using var response = await proxy.Client.GetAsync("/ok");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () =>
            await proxy.MetricAsync(ReverseProxyMetricNames.QueryErrors, ("query", "pressure")) >= 1));
        Assert.Equal(8, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow));
    }

    [Fact]
    public async Task A_malformed_query_stops_start_up_without_asking_a_server()
    {
        await using var backend = await ProxyBackend.StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyHost.StartAsync(backend.Address,
            Settings(new Uri("http://127.0.0.1:1"), "rate(http_requests_total[5m]")));

        Assert.Contains("Backpressure:Queries:0:Query is not valid PromQL", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_query_prometheus_cannot_parse_stops_start_up()
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyHost.StartAsync(backend.Address,
            Settings(prometheus.Address, "cloudproxy_test_pressure cloudproxy_test_pressure")));

        Assert.Contains("Prometheus rejects it", error.ToString(), StringComparison.Ordinal);
    }
}

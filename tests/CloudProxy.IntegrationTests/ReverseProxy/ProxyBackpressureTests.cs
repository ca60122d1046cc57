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
    public async Task With_prometheus_unreachable_the_proxy_starts_serves_counts_query_errors_and_fails_safe()
    {
        await using var backend = await ProxyBackend.StartAsync();
        var dead = new Uri($"http://127.0.0.1:{Tests.Common.Loopback.FreeTcpPort()}");
        await using var proxy = await ProxyHost.StartAsync(backend.Address, Settings(dead, "up == 0"));

        using var response = await proxy.Client.GetAsync("/ok");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () =>
            await proxy.MetricAsync(ReverseProxyMetricNames.QueryErrors, ("query", "pressure")) >= 1));
        // No FailSafeWindow given: halfway between MinWindow 1 and MaxWindow 8.
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () =>
            await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow) == 4, TimeSpan.FromSeconds(60)));
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

    private static string[] FailSafe(int window, double seconds) =>
    [
        "--CloudProxy:ReverseProxy:Backpressure:FailSafeWindow=" + window.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--CloudProxy:ReverseProxy:Backpressure:FailSafeSeconds=" + seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    /// <summary>True once the proxy has evaluated the named query at least once (its labelled gauge exists).</summary>
    private static async Task<bool> EvaluatedAsync(ProxyHost proxy) =>
        (await proxy.Host.ScrapeMetricsAsync()).Contains(ReverseProxyMetricNames.QueryValue + "{query=\"pressure\"}", StringComparison.Ordinal);

    /// <summary>Polls the window gauge until it equals <paramref name="target"/>, keeping every value seen on the way.</summary>
    private static async Task<(bool Reached, List<double> Seen)> WatchWindowAsync(ProxyHost proxy, double target)
    {
        var seen = new List<double>();
        var reached = await Tests.Common.Eventually.TrueAsync(async () =>
        {
            var window = await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow);
            if (seen.Count == 0 || seen[^1] != window)
            {
                seen.Add(window);
            }

            return window == target;
        }, TimeSpan.FromSeconds(60));
        return (reached, seen);
    }

    [Fact]
    public async Task With_prometheus_stopped_the_window_walks_down_to_its_fail_safe_value()
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        // 8 to 1 in 3.5 s at one evaluation every 0.5 s: one step of 1 per evaluation.
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            [.. Settings(prometheus.Address, "cloudproxy_test_pressure > 0"), .. FailSafe(3, 3.5)]);
        Assert.True(await Tests.Common.Eventually.TrueAsync(() => EvaluatedAsync(proxy), TimeSpan.FromSeconds(30)));
        var before = await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow);

        await prometheus.StopAsync();
        var (reached, seen) = await WatchWindowAsync(proxy, 3);

        Assert.Equal(8, before);
        Assert.True(reached, $"the window did not reach the fail-safe value 3; seen {string.Join(", ", seen)}");
        Assert.All(seen, w => Assert.InRange(w, 3, 8));
        Assert.Equal(1, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureFailSafe));
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.QueryErrors, ("query", "pressure"), ("reason", "unreachable")) >= 1);
    }

    [Fact]
    public async Task A_window_a_firing_query_held_down_rises_to_the_fail_safe_value_when_prometheus_goes_away()
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        prometheus.Pressure = 1;
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            [.. Settings(prometheus.Address, "cloudproxy_test_pressure > 0"), .. FailSafe(4, 1)]);
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () =>
            await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWindow) == 1, TimeSpan.FromSeconds(30)), "the firing query did not hold the window at its minimum");

        await prometheus.StopAsync();
        var (reached, seen) = await WatchWindowAsync(proxy, 4);

        Assert.True(reached, $"the window stayed where the last answer left it; seen {string.Join(", ", seen)}");
        Assert.Equal(0, await proxy.MetricAsync(ReverseProxyMetricNames.QueryFiring, ("query", "pressure")));
    }

    [Theory]
    [InlineData("vector(1) + on() {job=\"pressure\"}", false, "bad_query")]
    [InlineData("cloudproxy_test_metric_that_is_gone", true, "empty")]
    public async Task A_query_that_errors_or_a_value_query_with_no_series_walks_the_window_to_the_fail_safe_value(string query, bool valueQuery, string reason)
    {
        await using var prometheus = await PrometheusFixture.StartAsync();
        await using var backend = await ProxyBackend.StartAsync();
        string[] thresholds = valueQuery
            ? ["--CloudProxy:ReverseProxy:Backpressure:Queries:0:WarningThreshold=50", "--CloudProxy:ReverseProxy:Backpressure:Queries:0:EmergencyThreshold=100"]
            : [];
        await using var proxy = await ProxyHost.StartAsync(backend.Address, [.. Settings(prometheus.Address, query), .. thresholds, .. FailSafe(3, 1)]);

        var (reached, seen) = await WatchWindowAsync(proxy, 3);

        Assert.True(reached, $"the window did not move to the fail-safe value; seen {string.Join(", ", seen)}");
        Assert.True(await proxy.MetricAsync(ReverseProxyMetricNames.QueryErrors, ("query", "pressure"), ("reason", reason)) >= 1);
    }

    [Fact]
    public async Task With_the_window_full_sheddable_requests_are_refused_first_and_critical_ones_get_the_next_slot()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            "--CloudProxy:ReverseProxy:Backpressure:Enabled=true", "--CloudProxy:ReverseProxy:Backpressure:MinWindow=1",
            "--CloudProxy:ReverseProxy:Backpressure:MaxWindow=2", "--CloudProxy:ReverseProxy:Backpressure:InitialWindow=1",
            "--CloudProxy:ReverseProxy:Backpressure:QueueTimeoutMs=60000",
            "--CloudProxy:ReverseProxy:Routes:batch:ClusterId=proxy-url", "--CloudProxy:ReverseProxy:Routes:batch:Match:Path=/batch/{**rest}",
            "--CloudProxy:ReverseProxy:Routes:batch:Metadata:CloudProxy.Backpressure.Criticality=sheddable");
        static HttpRequestMessage Get(string path, string? criticality = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (criticality is not null)
            {
                request.Headers.Add("X-Request-Criticality", criticality);
            }

            return request;
        }

        Task<double> Waiting(string criticality) => proxy.MetricAsync(ReverseProxyMetricNames.BackpressureWaiting, ("criticality", criticality));

        // The only slot, held by the back end until the gate opens; its 503 then keeps the window at 1.
        var holder = proxy.Client.SendAsync(Get("/hold?gate=1&status=503"));
        Assert.True(await Tests.Common.Eventually.TrueAsync(() => backend.Arrivals.Count == 1, TimeSpan.FromSeconds(30)));
        using var shedByHeader = await proxy.Client.SendAsync(Get("/report", "sheddable"));
        using var shedByRoute = await proxy.Client.SendAsync(Get("/batch/job"));
        var normal = proxy.Client.SendAsync(Get("/normal"));
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () => await Waiting("default") == 1, TimeSpan.FromSeconds(30)));
        var critical = proxy.Client.SendAsync(Get("/checkout", "critical"));
        Assert.True(await Tests.Common.Eventually.TrueAsync(async () => await Waiting("critical") == 1, TimeSpan.FromSeconds(30)));
        backend.OpenGate();
        using var held = await holder;
        using var criticalResponse = await critical;
        using var normalResponse = await normal;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, shedByHeader.StatusCode);
        Assert.Contains("sheddable", await shedByHeader.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, shedByRoute.StatusCode);
        Assert.Equal(2, await proxy.MetricAsync(ReverseProxyMetricNames.BackpressureBlocked, ("cause", "shed"), ("criticality", "sheddable")));
        Assert.Equal(HttpStatusCode.OK, criticalResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, normalResponse.StatusCode);
        Assert.Equal(["/hold?gate=1&status=503", "/checkout", "/normal"], backend.Arrivals);
    }
}

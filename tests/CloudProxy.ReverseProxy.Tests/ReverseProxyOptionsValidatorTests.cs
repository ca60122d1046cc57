using CloudProxy.ReverseProxy.Hosting;

namespace CloudProxy.ReverseProxy.Tests;

public class ReverseProxyOptionsValidatorTests
{
    [Fact]
    public void The_defaults_are_valid() =>
        Assert.True(new ReverseProxyOptionsValidator().Validate(null, new ReverseProxyOptions()).Succeeded);

    [Fact]
    public void Every_failure_is_reported_at_once_naming_its_setting()
    {
        var options = new ReverseProxyOptions
        {
            Listen = "nowhere",
            ProxyUrl = "ftp://x",
            Backpressure = { Enabled = true, MinWindow = 0, MaxWindow = 0, RefusalStatusCode = 500 },
            RateLimit = { RequestsPerMinute = -1 },
        };
        options.Backpressure.Queries.Add(new BackpressureQueryOptions { Query = "up", WarningThreshold = 5 });
        options.RateLimit.TrustedProxies.Add("10.0.0.0/99");

        AssertFailsNaming(options,
            "Listen (-listen-address)",
            "ProxyUrl (-proxy-url)",
            "MinWindow must be at least 1",
            "MaxWindow must be greater than MinWindow",
            "RefusalStatusCode",
            "PrometheusUrl",
            "WarningThreshold and EmergencyThreshold go together",
            "TrustedProxies: '10.0.0.0/99'",
            "-requests-per-minute");
    }

    [Fact]
    public void Backpressure_fail_safe_and_criticality_settings_are_checked_naming_them()
    {
        var options = new ReverseProxyOptions
        {
            Backpressure = { Enabled = true, MinWindow = 2, MaxWindow = 10, FailSafeWindow = 11, FailSafeSeconds = 0, CriticalityHeader = "X Crit" },
        };

        AssertFailsNaming(options,
            "Backpressure:FailSafeWindow must be between MinWindow and MaxWindow",
            "Backpressure:FailSafeSeconds",
            "Backpressure:CriticalityHeader must be a header name");
        Assert.Equal(6, new ProxyBackpressureOptions { MinWindow = 2, MaxWindow = 10 }.EffectiveFailSafeWindow);
    }

    [Fact]
    public void Purge_and_stale_settings_are_checked_naming_them()
    {
        var options = new ReverseProxyOptions
        {
            Purge = { Token = "short", Path = "purge", SyncIntervalMs = 1, MaxRecords = 1 },
            Cache = { StaleIfErrorSeconds = -1, RefreshConcurrency = 0 },
        };

        AssertFailsNaming(options,
            "Purge:Token must be at least 16 characters",
            "Purge:Path must be a path starting with /",
            "Purge:SyncIntervalMs",
            "Purge:MaxRecords",
            "Cache:StaleIfErrorSeconds",
            "Cache:RefreshConcurrency");
    }

    [Fact]
    public void A_route_criticality_that_names_no_class_is_reported_naming_the_route()
    {
        var route = new Yarp.ReverseProxy.Configuration.RouteConfig
        {
            RouteId = "batch",
            Metadata = new Dictionary<string, string> { [ProxyRouteSettings.CriticalityKey] = "low" },
        };

        Assert.Equal(["route 'batch': Metadata CloudProxy.Backpressure.Criticality must be critical, default or sheddable (got 'low')"],
            ProxyRouteSettings.Problems(route));
    }

    [Theory]
    [InlineData("127.0.0.1:8850", "127.0.0.1", 8850)]
    [InlineData(":9000", "0.0.0.0", 9000)]
    [InlineData("http://localhost:80/", "127.0.0.1", 80)]
    [InlineData("[::1]:81", "::1", 81)]
    public void Listen_addresses_take_go_rev_proxy_forms(string text, string address, int port)
    {
        Assert.Null(ProxyListenAddress.TryParse(text, out var endpoint));
        Assert.Equal((address, port), (endpoint.Address.ToString(), endpoint.Port));
    }

    /// <summary>Asserts that validating <paramref name="options"/> fails with a message containing each part.</summary>
    private static void AssertFailsNaming(ReverseProxyOptions options, params string[] parts)
    {
        var failures = new ReverseProxyOptionsValidator().Validate(null, options).Failures!.ToList();
        Assert.All(parts, part => Assert.Contains(failures, f => f.Contains(part, StringComparison.Ordinal)));
    }
}

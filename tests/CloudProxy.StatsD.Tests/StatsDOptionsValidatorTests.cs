namespace CloudProxy.StatsD.Tests;

public class StatsDOptionsValidatorTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(new StatsDOptionsValidator(true, true).Validate(null, new StatsDOptions()).Succeeded);
    }

    [Fact]
    public void Every_bad_setting_is_reported_by_its_name()
    {
        var options = new StatsDOptions { Topic = " " };
        options.Ingress.MetricPrefix = "bad:prefix";
        options.Ingress.MaxBatchMetrics = 0;
        options.Ingress.MaxBodyBytes = 1;
        options.Ingress.AllowedOrigins.Add("not an origin");
        options.Forwarder.Host = string.Empty;
        options.Forwarder.Port = 70000;
        options.Forwarder.MaxDatagramBytes = 70000;
        var result = new StatsDOptionsValidator(true, true).Validate(null, options);
        var failures = Assert.IsAssignableFrom<IEnumerable<string>>(result.Failures).ToList();
        foreach (var setting in new[]
        {
            "CloudProxy:StatsD:Topic", "CloudProxy:StatsD:Ingress:MetricPrefix (--metric-prefix)", "CloudProxy:StatsD:Ingress:MaxBatchMetrics",
            "CloudProxy:StatsD:Ingress:MaxBodyBytes", "CloudProxy:StatsD:Ingress:AllowedOrigins", "CloudProxy:StatsD:Forwarder:Host (--statsd-host)",
            "CloudProxy:StatsD:Forwarder:Port (--statsd-port)", "CloudProxy:StatsD:Forwarder:MaxDatagramBytes",
        })
        {
            Assert.Contains(failures, f => f.StartsWith(setting, StringComparison.Ordinal));
        }

        Assert.Equal(8, failures.Count);
    }

    [Fact]
    public void Flood_and_cardinality_settings_are_checked_by_name()
    {
        var options = new StatsDOptions();
        options.Ingress.ClientRequestsPerSecond = -1;
        options.Ingress.TokenBurst = 5;
        options.Ingress.MaxNamesPerToken = 10;
        options.Ingress.MaxPrefixes = -2;
        options.Ingress.CardinalityWindowSeconds = double.NaN;
        var failures = Assert.IsAssignableFrom<IEnumerable<string>>(new StatsDOptionsValidator(true, false).Validate(null, options).Failures).ToList();
        Assert.Contains(failures, f => f.StartsWith("CloudProxy:StatsD:Ingress:ClientRequestsPerSecond", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("CloudProxy:StatsD:Ingress:ClientBurst / TokenBurst need", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("MaxNamesPerToken need CloudProxy:StatsD:Ingress:JwtSecret (--jwt-secret)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("CloudProxy:StatsD:Ingress:MaxNamesPerPrefix, MaxPrefixes", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("CloudProxy:StatsD:Ingress:CardinalityWindowSeconds", StringComparison.Ordinal));
        Assert.Equal(5, failures.Count);

        var good = new StatsDOptions();
        good.Ingress.JwtSecret = "s";
        good.Ingress.ClientRequestsPerSecond = 100;
        good.Ingress.ClientBurst = 200;
        good.Ingress.TokenRequestsPerSecond = 10;
        good.Ingress.MaxNamesPerPrefix = 1000;
        good.Ingress.MaxNamesPerToken = 1000;
        good.Ingress.MaxPrefixes = 100;
        Assert.True(new StatsDOptionsValidator(true, false).Validate(null, good).Succeeded);
    }

    [Fact]
    public void Settings_of_a_role_this_process_does_not_run_are_not_checked()
    {
        var options = new StatsDOptions();
        options.Forwarder.Port = 0;
        Assert.True(new StatsDOptionsValidator(ingress: true, forwarder: false).Validate(null, options).Succeeded);
        Assert.False(new StatsDOptionsValidator(ingress: false, forwarder: true).Validate(null, options).Succeeded);
    }
}

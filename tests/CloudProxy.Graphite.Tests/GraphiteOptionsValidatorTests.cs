namespace CloudProxy.Graphite.Tests;

public class GraphiteOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(Action<GraphiteOptions> change, bool gateway = true, bool forwarder = true)
    {
        var options = new GraphiteOptions();
        change(options);
        return new GraphiteOptionsValidator(gateway, forwarder).Validate(null, options).Failures?.ToList() ?? [];
    }

    [Fact]
    public void Defaults_are_valid_beside_a_gateway() => Assert.Empty(Failures(_ => { }));

    [Fact]
    public void Carbon_ch_refuses_two_destinations_carbon_would_see_as_one_node()
    {
        var failure = Assert.Single(Failures(o => { o.Forwarder.Destinations = "10.0.0.1:2003,10.0.0.1:2004"; o.Forwarder.Distribution = "carbon_ch"; }));
        Assert.Contains("distinct (host, instance)", failure, StringComparison.Ordinal);
        Assert.Empty(Failures(o => { o.Forwarder.Destinations = "10.0.0.1:2003:a,10.0.0.1:2004:b"; o.Forwarder.Distribution = "carbon_ch"; }));
    }

    [Theory]
    [InlineData("10.0.0.1:2003", 2, "ReplicationFactor")]
    [InlineData("10.0.0.1:99999", 1, "port between 1 and 65535")]
    [InlineData("10.0.0.1:2003,10.0.0.1:2003", 1, "listed twice")]
    public void Bad_forwarder_settings_are_named(string destinations, int replication, string message)
    {
        var failures = Failures(o => { o.Forwarder.Destinations = destinations; o.Forwarder.ReplicationFactor = replication; });
        Assert.Contains(failures, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(double.NaN, 0)]
    [InlineData(100, 0.5)]
    [InlineData(100, -2)]
    public void A_plaintext_quota_that_is_no_quota_is_named(double rate, double burst)
    {
        var failure = Assert.Single(Failures(o => { o.Gateway.PlaintextPointsPerSecond = rate; o.Gateway.PlaintextBurst = burst; }));
        Assert.Contains("PlaintextPointsPerSecond", failure, StringComparison.Ordinal);
        Assert.Empty(Failures(o => { o.Gateway.PlaintextPointsPerSecond = 100; o.Gateway.PlaintextBurst = 1; }));
    }

    [Fact]
    public void Every_bad_gateway_setting_is_reported_at_once()
    {
        var failures = Failures(o =>
        {
            o.Gateway.MaxBodyBytes = 1;
            o.Gateway.PlaintextAddress = "nowhere";
            o.Gateway.KeyRefreshSeconds = 0;
            o.Gateway.TrustedProxies.Add("proxy.example");
        });
        Assert.Equal(4, failures.Count);
    }

    [Theory]
    [InlineData("hash-route", GraphiteDistribution.CarbonCh)]
    [InlineData("carbon_ch", GraphiteDistribution.CarbonCh)]
    [InlineData("FNV1A_CH", GraphiteDistribution.Fnv1aCh)]
    [InlineData("broadcast", GraphiteDistribution.Broadcast)]
    [InlineData("random", null)]
    public void Distribution_names_include_polymurs_hash_route(string name, GraphiteDistribution? expected) =>
        Assert.Equal(expected, GraphiteOptionsValidator.ParseDistribution(name));
}

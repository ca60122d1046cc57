using CloudProxy.Graphite;
using CloudProxy.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CloudProxy.IntegrationTests.Graphite;

[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

/// <summary>polymur-gateway's flags and POLYMUR_GW_* variables keep working; bad values stop start-up by name.</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class GraphiteFlagsTests
{
    private static GraphiteOptions Options(params string[] args)
    {
        var app = CloudProxyApp.Build(["--services", "graphite-gateway,graphite-forwarder", "--urls", "http://127.0.0.1:0", .. args]);
        return app.Services.GetRequiredService<IOptions<GraphiteOptions>>().Value;
    }

    [Fact]
    public void Polymur_gateway_flags_map_onto_the_graphite_settings()
    {
        var o = Options("-destinations", "10.0.0.1:2003,10.0.0.2:2003:b", "-distribution", "hash-route", "-key-prefix",
            "-dev-mode", "-outgoing-queue-cap", "4096", "-api-addr", "127.0.0.1:2030");
        Assert.Equal(["10.0.0.1:2003", "10.0.0.2:2003:b"], o.Forwarder.DestinationList());
        Assert.Equal(GraphiteDistribution.CarbonCh, GraphiteOptionsValidator.ParseDistribution(o.Forwarder.Distribution));
        Assert.True(o.Gateway.KeyPrefix);
        Assert.True(o.Gateway.DevMode);
        Assert.Equal(4096, o.Forwarder.QueuePoints);
        Assert.Equal("127.0.0.1:2030", o.Gateway.AdminAddress);
    }

    [Fact]
    public void POLYMUR_GW_variables_are_read_and_flags_override_them()
    {
        Environment.SetEnvironmentVariable("POLYMUR_GW_DESTINATIONS", "10.9.9.9:2003");
        Environment.SetEnvironmentVariable("POLYMUR_GW_DISTRIBUTION", "fnv1a_ch");
        try
        {
            var o = Options("-distribution", "broadcast");
            Assert.Equal("10.9.9.9:2003", o.Forwarder.Destinations);
            Assert.Equal("broadcast", o.Forwarder.Distribution);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POLYMUR_GW_DESTINATIONS", null);
            Environment.SetEnvironmentVariable("POLYMUR_GW_DISTRIBUTION", null);
        }
    }

    [Theory]
    [InlineData("-distribution", "round-robin", "CloudProxy:Graphite:Forwarder:Distribution (-distribution): 'round-robin'")]
    [InlineData("-destinations", "carbon-without-port", "CloudProxy:Graphite:Forwarder:Destinations (-destinations): 'carbon-without-port'")]
    [InlineData("-api-addr", "everywhere", "CloudProxy:Graphite:Gateway:AdminAddress (-api-addr): 'everywhere'")]
    public async Task A_bad_setting_stops_start_up_naming_it(string flag, string value, string message)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CloudProxyApp.RunAsync(["--services", "graphite-gateway,graphite-forwarder", "--urls", "http://127.0.0.1:0", flag, value], stdout, stderr);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dedicated_forwarder_without_destinations_does_not_start()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CloudProxyApp.RunAsync(["--services", "graphite-forwarder", "--transport", "dapr", "--urls", "http://127.0.0.1:0"], stdout, stderr);
        Assert.Equal(2, code);
        Assert.Contains("CloudProxy:Graphite:Forwarder:Destinations (-destinations) must name at least one", stderr.ToString(), StringComparison.Ordinal);
    }
}

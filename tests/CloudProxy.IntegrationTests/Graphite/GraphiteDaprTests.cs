using System.Net;
using CloudProxy.Host;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>
/// Gateway and forwarder as separate processes over Dapr (by contract: the sidecar double, its state API on a
/// real redis-server, deliveries built as daprd builds them), with the API keys in the Dapr state store.
/// </summary>
public sealed class GraphiteDaprTests
{
    [Fact]
    public async Task A_key_made_with_the_keys_command_in_the_Dapr_state_store_admits_a_batch_that_reaches_carbon_through_the_broker()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var gatewaySidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "graphite-gateway"));
        await using var forwarderSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "graphite-forwarder"));

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, await CloudProxyApp.RunAsync(["keys", "create", "dapr-team", .. gatewaySidecar.HostArguments()], stdout, stderr));
        var key = stdout.ToString().Trim().Split(' ')[^1];
        Assert.True(await redis.Database.KeyExistsAsync(gatewaySidecar.RedisKey("graphite-gateway-keys")));

        await using var carbon = new TcpLineSink();
        await using var gateway = await RunningHost.StartAsync([.. gatewaySidecar.HostArguments(), "--services", "graphite-gateway"]);
        await using var forwarder = await RunningHost.StartAsync([.. forwarderSidecar.HostArguments(), "--services", "graphite-forwarder", "-destinations", $"127.0.0.1:{carbon.Port}"]);
        await forwarderSidecar.SubscribeAppAsync(forwarder.BaseAddress);

        var now = GraphiteTestHost.Now();
        var lines = Enumerable.Range(0, 20).Select(i => $"dapr.m{i} {i} {now}").ToArray();
        var response = await gateway.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, string.Join('\n', lines) + "\n"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.True(await carbon.WaitForLinesAsync(20));
        Assert.Equal(lines.Order(), carbon.Lines.Order());
        Assert.All(forwarderSidecar.Deliveries, d => Assert.Equal(200, d.Status));
    }
}

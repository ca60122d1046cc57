using System.Net;
using System.Text.Json;
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
        await using var sidecar = await DaprSidecarDouble.StartAsync(redis, "cloudproxy-test", "statestore");
        string[] dapr = ["--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}", $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}"];

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, await CloudProxyApp.RunAsync(["keys", "create", "dapr-team", .. dapr], stdout, stderr));
        var key = stdout.ToString().Trim().Split(' ')[^1];
        Assert.True(await redis.Database.KeyExistsAsync(sidecar.RedisKey("graphite-gateway-keys")));

        await using var carbon = new TcpLineSink();
        await using var gateway = await RunningHost.StartAsync([.. dapr, "--services", "graphite-gateway"]);
        await using var forwarder = await RunningHost.StartAsync([.. dapr, "--services", "graphite-forwarder", "-destinations", $"127.0.0.1:{carbon.Port}"]);

        var now = GraphiteTestHost.Now();
        var lines = Enumerable.Range(0, 20).Select(i => $"dapr.m{i} {i} {now}").ToArray();
        var response = await gateway.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, string.Join('\n', lines) + "\n"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => sidecar.BulkPublishes.Sum(b => b.Entries.Count) + sidecar.Publishes.Count >= 1));

        foreach (var bulk in sidecar.BulkPublishes)
        {
            var entries = bulk.Entries.Select(e => DaprdDeliveries.BulkEntry(e.EntryId, DaprdDeliveries.FromBulkEntry(bulk, e))).ToArray();
            using var content = DaprdDeliveries.Content(DaprdDeliveries.BulkDelivery(bulk.Topic, bulk.PubsubName, entries), DaprdDeliveries.BulkContentType);
            using var delivered = await forwarder.Client.PostAsync(new Uri($"/dapr/topics/{bulk.Topic}", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
            using var reply = JsonDocument.Parse(await delivered.Content.ReadAsStringAsync());
            Assert.All(reply.RootElement.GetProperty("statuses").EnumerateArray(), s => Assert.Equal("SUCCESS", s.GetProperty("status").GetString()));
        }

        foreach (var publish in sidecar.Publishes)
        {
            using var content = DaprdDeliveries.Content(DaprdDeliveries.FromPublish(publish), DaprdDeliveries.CloudEventContentType);
            using var delivered = await forwarder.Client.PostAsync(new Uri($"/dapr/topics/{publish.Topic}", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        }

        Assert.True(await carbon.WaitForLinesAsync(20));
        Assert.Equal(lines.Order(), carbon.Lines.Order());
    }
}

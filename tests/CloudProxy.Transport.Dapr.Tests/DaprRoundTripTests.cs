using System.Net;
using System.Text.Json;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Publishing;
using CloudProxy.Transport.Dapr.Tests.Subscriptions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>
/// Both halves of the contract joined: what our publisher hands the sidecar, wrapped as daprd wraps it, is
/// what our subscription endpoint hands the forwarder, byte for byte.
/// </summary>
public sealed class DaprRoundTripTests
{
    [Fact]
    public async Task Bulk_published_envelopes_delivered_as_daprd_delivers_them_reach_the_handler_intact()
    {
        await using var sidecar = await DaprSidecarDouble.StartAsync();
        await using var stores = CoreStores.Create();
        using var channel = new DaprSidecarChannel(sidecar.Endpoint.ToString(), null, TimeSpan.FromSeconds(5));
        var publisher = new DaprEnvelopePublisher(
            channel,
            Options.Create(new TransportOptions { Kind = TransportKind.Dapr, PubSubName = TestEnvelopes.PubSub }),
            Options.Create(new DaprTransportOptions()),
            new DaprMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())),
            stores.Quarantine,
            TimeProvider.System,
            NullLogger<DaprEnvelopePublisher>.Instance);
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);
        Envelope[] batch = [TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues()), TestEnvelopes.Create(payload: [0, 0, 0], key: null, traceParent: null)];

        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None));
        var published = Assert.Single(sidecar.BulkPublishes);
        var delivery = DaprdDeliveries.BulkDelivery(
            published.Topic,
            published.PubsubName,
            [.. published.Entries.Select(e => DaprdDeliveries.BulkEntry(e.EntryId, DaprdDeliveries.FromBulkEntry(published, e)))]);
        using var content = DaprdDeliveries.Content(delivery, DaprdDeliveries.BulkContentType);
        using var response = await app.Client.PostAsync("/dapr/topics/" + TestEnvelopes.Topic, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reply = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.All(reply.RootElement.GetProperty("statuses").EnumerateArray(), s => Assert.Equal("SUCCESS", s.GetProperty("status").GetString()));
        var received = Assert.Single(sink.Batches);
        Assert.Equal(2, received.Count);
        TestEnvelopes.AssertIntact(batch[0], received[0]);
        TestEnvelopes.AssertIntact(batch[1], received[1]);
    }
}

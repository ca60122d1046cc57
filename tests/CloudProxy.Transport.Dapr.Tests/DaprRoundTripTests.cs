using System.Text.Json;
using CloudProxy.Core.Envelopes;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Tests.Subscriptions;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>
/// Both halves of the contract joined through the sidecar double and a real Redis: what our publisher hands the
/// sidecar goes into a Redis stream, and daprd's subscriber side delivers it to our subscription endpoint, as
/// daprd would — with its batching, its retries, and its acknowledgements, whatever the app answered.
/// </summary>
public sealed class DaprRoundTripTests : IAsyncLifetime
{
    private static readonly DaprPolicy FastRetries = new(Retry: DaprRetryPolicy.Constant(TimeSpan.FromMilliseconds(50), 2));
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Bulk_published_envelopes_reach_the_handler_intact_through_the_stream_and_daprds_bulk_subscriber()
    {
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, appId: "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);
        Envelope[] batch = [TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues()), TestEnvelopes.Create(payload: [0, 0, 0], key: null, traceParent: null)];

        await PublishAsync(ingress, batch);
        Assert.Equal([TestEnvelopes.Topic], await forwarder.SubscribeAppAsync(app.Client.BaseAddress!));

        // The entries are acknowledged after the app answered, so once none is pending the delivery is on record.
        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count == 2), $"the handler got {sink.Envelopes.Count} envelopes");
        Assert.True(await Eventually.TrueAsync(async () => await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0), "the entries were not acknowledged");
        TestEnvelopes.AssertIntact(batch[0], sink.Envelopes[0]);
        TestEnvelopes.AssertIntact(batch[1], sink.Envelopes[1]);
        var delivery = Assert.Single(forwarder.Deliveries);
        Assert.True(delivery.Bulk);
        Assert.Equal(200, delivery.Status);
        Assert.All(JsonDocument.Parse(delivery.Reply).RootElement.GetProperty("statuses").EnumerateArray(), s => Assert.Equal("SUCCESS", s.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task With_bulk_subscribe_off_each_envelope_is_delivered_on_its_own_as_the_cloud_event_in_the_stream()
    {
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, appId: "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink], new Dictionary<string, string?> { ["CloudProxy:Transport:BulkSubscribeMaxMessages"] = "1" });

        await PublishAsync(ingress, [TestEnvelopes.Create(payload: [1]), TestEnvelopes.Create(payload: [2])]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count == 2));
        Assert.True(await Eventually.TrueAsync(async () => await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0));
        Assert.Equal([[1], [2]], sink.Envelopes.Select(e => e.Payload.ToArray()).Order(Comparer<byte[]>.Create((a, b) => a[0].CompareTo(b[0]))));
        Assert.Equal(2, forwarder.Deliveries.Count);
        Assert.All(forwarder.Deliveries, d => Assert.False(d.Bulk));
        Assert.All(forwarder.Deliveries, d => Assert.Equal("SUCCESS", JsonDocument.Parse(d.Reply).RootElement.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Redis_bulk_batches_never_hold_more_entries_than_the_components_concurrency()
    {
        // default_bulksub.go: each component worker parks one message until its batch is flushed, so a batch is
        // at most `concurrency` entries however large maxMessagesCount is.
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, o => o with { RedisStreams = o.RedisStreams with { Concurrency = 4 } }, "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);

        await PublishAsync(ingress, [.. Enumerable.Range(0, 20).Select(i => TestEnvelopes.Create(payload: [(byte)i]))]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count == 20), $"the handler got {sink.Envelopes.Count} of 20");
        Assert.True(await Eventually.TrueAsync(async () => await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0));
        Assert.All(forwarder.Deliveries, d => Assert.InRange(d.Entries, 1, 4));
        Assert.True(forwarder.Deliveries.Count >= 5);
    }

    [Fact]
    public async Task An_envelope_the_forwarder_cannot_deliver_yet_is_kept_by_the_app_and_never_left_to_daprds_retries()
    {
        // Answered RETRY, daprd would retry it a few times and then components-contrib redis.go:250-261 XACKs it:
        // gone. The app keeps it in its own deferral log instead and answers SUCCESS, once.
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, o => o with { PubSubInbound = FastRetries }, "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);

        await PublishAsync(ingress, [TestEnvelopes.Create(outcome: "retry")]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(async () => forwarder.Deliveries.Count == 1 && await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0));
        Assert.Equal(200, forwarder.Deliveries[0].Status);
        Assert.Equal(0, forwarder.Broker!.AckedAfterError);

        // The forwarder is offered it again from the app's deferral log, without daprd.
        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count >= 3), $"offered {sink.Envelopes.Count} time(s)");
        Assert.Single(forwarder.Deliveries);
    }

    [Fact]
    public async Task An_envelope_answered_DROP_is_acknowledged_without_a_retry()
    {
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, o => o with { PubSubInbound = FastRetries }, "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);

        await PublishAsync(ingress, [TestEnvelopes.Create(outcome: "drop")]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(async () => forwarder.Deliveries.Count == 1 && await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0));
        Assert.Equal(0, forwarder.Broker!.AckedAfterError);
        Assert.Single(sink.Envelopes);
    }

    [Fact]
    public async Task While_the_inbound_circuit_breaker_is_open_a_message_is_acknowledged_without_reaching_the_app()
    {
        var breaker = new DaprCircuitBreakerPolicy { Trip = "consecutiveFailures > 1", Timeout = TimeSpan.FromMinutes(5) };
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(
            _redis, o => o with { PubSubInbound = new DaprPolicy(CircuitBreaker: breaker), RedisStreams = o.RedisStreams with { Concurrency = 1 } }, "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        var app = await SubscriptionApp.StartAsync([sink], new Dictionary<string, string?> { ["CloudProxy:Transport:BulkSubscribeMaxMessages"] = "1" });
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        // The app goes away (a forwarder restarting): two failed deliveries trip the breaker. (Our app never answers
        // RETRY any more; an error answer or no answer at all trips it just the same.)
        await app.DisposeAsync();
        await PublishAsync(ingress, [TestEnvelopes.Create(payload: [1]), TestEnvelopes.Create(payload: [2])]);
        Assert.True(await Eventually.TrueAsync(() => forwarder.Broker!.AckedAfterError == 2), "two failed deliveries should have tripped the breaker");
        await PublishAsync(ingress, [TestEnvelopes.Create(payload: [3])]);

        Assert.True(await Eventually.TrueAsync(() => forwarder.Broker!.AckedAfterError == 3), "the message behind the open breaker was not acknowledged");
        Assert.Equal(0, await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic));
        Assert.Equal(2, forwarder.Deliveries.Count);
        Assert.Empty(sink.Envelopes);
    }

    [Fact]
    public async Task A_delivery_slower_than_processingTimeout_is_claimed_again_and_delivered_twice()
    {
        // Single deliveries run on the component's workers, so the reclaimed copy goes out while the first hangs.
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(
            _redis,
            o => o with { RedisStreams = o.RedisStreams with { ProcessingTimeout = TimeSpan.FromMilliseconds(300), RedeliverInterval = TimeSpan.FromMilliseconds(100) } },
            "statsd-forwarder");
        using var release = new SemaphoreSlim(0);
        var sink = new SinkHandler(TestEnvelopes.Topic);
        sink.Before = async () =>
        {
            if (sink.Batches.Count == 1)
            {
                await release.WaitAsync(TimeSpan.FromSeconds(30));
            }
        };
        await using var app = await SubscriptionApp.StartAsync([sink], new Dictionary<string, string?> { ["CloudProxy:Transport:BulkSubscribeMaxMessages"] = "1" });

        await PublishAsync(ingress, [TestEnvelopes.Create(payload: [7])]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count >= 2), "the pending entry was not claimed again while the first delivery hung");
        release.Release();
        Assert.True(await Eventually.TrueAsync(async () => await forwarder.Broker!.PendingAsync(TestEnvelopes.Topic) == 0));
        Assert.All(sink.Envelopes, e => Assert.Equal([7], e.Payload.ToArray()));
    }

    [Fact]
    public async Task After_redis_was_down_the_subscriber_picks_up_what_is_published_once_it_is_back()
    {
        await using var ingress = await TestSidecar.StartAsync(_redis);
        await using var forwarder = await TestSidecar.StartAsync(_redis, appId: "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        await _redis.StopAsync();
        await _redis.StartAgainAsync();

        // The ingress sidecar's own connection comes back in its own time; until then the publish fails, and the
        // outbox would offer it again, as this loop does.
        await using (var test = TestSidecar.Publisher(ingress))
        {
            Assert.True(await Eventually.TrueAsync(async () =>
                (await test.Publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [5])], CancellationToken.None)).Count == 0));
        }

        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count == 1, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task With_maxLenApprox_the_oldest_entries_are_trimmed_before_a_late_forwarder_reads_them()
    {
        // The trade-off components/README.md writes down: XADD MAXLEN ~ trims whether or not a group has read.
        await using var ingress = await TestSidecar.StartAsync(_redis, o => o with { RedisStreams = o.RedisStreams with { MaxLenApprox = 10 } });
        await using var forwarder = await TestSidecar.StartAsync(_redis, appId: "statsd-forwarder");
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await SubscriptionApp.StartAsync([sink]);

        for (var i = 0; i < 300; i += 50)
        {
            await PublishAsync(ingress, [.. Enumerable.Range(i, 50).Select(n => TestEnvelopes.Create(payload: BitConverter.GetBytes(n)))]);
        }

        var kept = (await ingress.PublishedDataAsync(TestEnvelopes.Topic)).Count;
        Assert.InRange(kept, 10, 299);
        await forwarder.SubscribeAppAsync(app.Client.BaseAddress!);

        Assert.True(await Eventually.TrueAsync(() => sink.Envelopes.Count == kept), $"the forwarder got {sink.Envelopes.Count}, the stream kept {kept}");
        Assert.Equal(299, sink.Envelopes.Select(e => BitConverter.ToInt32(e.Payload.Span)).Max());
        Assert.DoesNotContain(sink.Envelopes, e => BitConverter.ToInt32(e.Payload.Span) == 0);
    }

    private static async Task PublishAsync(DaprSidecarDouble sidecar, Envelope[] batch)
    {
        await using var test = TestSidecar.Publisher(sidecar);
        Assert.Empty(await test.Publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None));
    }
}

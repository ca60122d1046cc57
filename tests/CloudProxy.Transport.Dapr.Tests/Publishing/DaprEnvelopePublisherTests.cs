using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Publishing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests.Publishing;

/// <summary>
/// The publisher against the sidecar double over a real Redis: what the sidecar is asked is recorded, and what
/// daprd would have published is read back from the Redis stream.
/// </summary>
public sealed class DaprEnvelopePublisherTests : IAsyncLifetime
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly List<IDisposable> _channels = [];
    private RedisServer _redis = null!;
    private DaprSidecarDouble _sidecar = null!;

    private readonly CoreStores _stores;

    public DaprEnvelopePublisherTests() => _stores = CoreStores.Create(_registry);

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _sidecar = await TestSidecar.StartAsync(_redis);
    }

    public async Task DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        await _sidecar.DisposeAsync();
        await _stores.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Single_publish_sends_octet_stream_bytes_that_decode_to_the_same_envelope()
    {
        var publisher = Publisher(bulk: false);
        var envelope = TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues());

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, [envelope], CancellationToken.None);

        Assert.Empty(failed);
        var publish = Assert.Single(_sidecar.Publishes);
        Assert.Equal(TestEnvelopes.PubSub, publish.PubsubName);
        Assert.Equal(TestEnvelopes.Topic, publish.Topic);
        Assert.Equal("application/octet-stream", publish.DataContentType);
        Assert.Equal(EnvelopeCodec.Encode(envelope), publish.Data);
        Assert.Empty(_sidecar.BulkPublishes);
        TestEnvelopes.AssertIntact(envelope, EnvelopeCodec.Decode(Assert.Single(await _sidecar.PublishedDataAsync(TestEnvelopes.Topic))));
    }

    [Fact]
    public async Task Bulk_publish_sends_every_envelope_as_an_octet_stream_entry_that_daprd_wraps_as_data_base64()
    {
        var publisher = Publisher();
        Envelope[] batch = [TestEnvelopes.Create(payload: [1]), TestEnvelopes.Create(payload: [2, 2]), TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues())];

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        Assert.Empty(failed);
        var bulk = Assert.Single(_sidecar.BulkPublishes);
        Assert.Equal("BulkPublishEvent", bulk.Rpc);
        Assert.Equal(3, bulk.Entries.Select(e => e.EntryId).Distinct().Count());
        Assert.All(bulk.Entries, e => Assert.Equal("application/octet-stream", e.ContentType));
        Assert.Empty(_sidecar.Publishes);
        Assert.Equal(3, await Published("bulk", "published"));

        var stream = await _sidecar.Broker!.EntriesAsync(TestEnvelopes.Topic);
        Assert.Equal(3, stream.Count);
        for (var i = 0; i < batch.Length; i++)
        {
            var cloudEvent = (JsonObject)JsonNode.Parse(stream[i].Data)!;
            Assert.Equal("application/octet-stream", (string?)cloudEvent["datacontenttype"]);
            Assert.Equal(TestSidecar.AppId, (string?)cloudEvent["source"]);
            Assert.Equal(TestEnvelopes.Topic, (string?)cloudEvent["topic"]);
            Assert.Null(cloudEvent["data"]);
            TestEnvelopes.AssertIntact(batch[i], EnvelopeCodec.Decode(Convert.FromBase64String((string)cloudEvent["data_base64"]!)));
        }
    }

    [Fact]
    public async Task A_component_error_on_some_entries_fails_the_bulk_request_as_Internal_while_daprd_published_the_others()
    {
        // daprd's default bulk publisher (Redis has no bulk publish) publishes the good entries, then answers the
        // request Internal with an empty response: the caller cannot tell which entries made it.
        var publisher = Publisher();
        _sidecar.PublishFault = m => EnvelopeCodec.Decode(m.Event).Payload.Span[0] is 1 or 3 ? "broker refused" : null;
        var batch = Enumerable.Range(0, 5).Select(i => TestEnvelopes.Create(payload: [(byte)i])).ToArray();

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        // Published again one by one: 1 and 3 fail alone too, 0, 2 and 4 go in a second time, and are counted.
        Assert.Equal([1, 3], failed.Order());
        Assert.Equal(3, await MetricValues.ReadAsync(_registry, DaprMetricNames.PublishErrors, "code=Internal"));
        var published = (await _sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Select(d => EnvelopeCodec.Decode(d).Payload.Span[0]).Order();
        Assert.Equal(new byte[] { 0, 0, 2, 2, 4, 4 }, published.ToArray());
        Assert.Equal(3, await MetricValues.ReadAsync(_registry, "cloudproxy_core_envelopes_duplicates_total", "reason=bulk_refused"));
    }

    [Fact]
    public async Task Partial_bulk_failure_returns_the_indexes_of_the_failed_entries()
    {
        // The old double answered this case OK + FailedEntries [1, 3]; daprd answers it Internal with an empty
        // response (pkg/api/grpc/grpc.go bulkPublishEvent). Only the refused entries may go back to the outbox:
        // everything else daprd has published already, and offering it again publishes it again, every time.
        var publisher = Publisher();
        _sidecar.PublishFault = m => EnvelopeCodec.Decode(m.Event).Payload.Span[0] is 1 or 3 ? "broker refused" : null;
        var batch = Enumerable.Range(0, 5).Select(i => TestEnvelopes.Create(payload: [(byte)i])).ToArray();

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        Assert.Equal([1, 3], failed.Order());
    }

    [Fact]
    public async Task Bulk_refused_as_a_whole_is_published_again_entry_by_entry()
    {
        // daprd answers a bulk publish with any failed entry with an error status and no entry list, so the
        // publisher cannot know which failed: it publishes each alone. Here every one fails alone as well: the
        // broker is at fault, not an entry, so none is quarantined and all are offered again later.
        var publisher = Publisher();
        _sidecar.PublishFault = _ => "broker refused";

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(), TestEnvelopes.Create()], CancellationToken.None);

        Assert.Equal([0, 1], failed.Order());
        Assert.Equal(2, await Published("single", "failed"));
        Assert.Equal(0, await Published("single", "quarantined"));
        Assert.Equal(3, await MetricValues.ReadAsync(_registry, DaprMetricNames.PublishErrors, "code=Internal"));
        Assert.Empty(await _sidecar.PublishedDataAsync(TestEnvelopes.Topic));
    }

    [Fact]
    public async Task Large_batches_are_split_so_no_bulk_request_exceeds_the_limit_and_indexes_stay_global()
    {
        var publisher = Publisher(bulkMaxBytes: 4 * 1024);
        var batch = Enumerable.Range(0, 6).Select(i => TestEnvelopes.Create(payload: Enumerable.Repeat((byte)i, 1500).ToArray())).ToArray();
        _sidecar.PublishFault = m => EnvelopeCodec.Decode(m.Event).Payload.Span[0] == 4 ? "broker refused" : null;

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        // Envelope 4 is refused, and its request published again one by one: only 4 is offered again.
        Assert.Equal([4], failed);
        var requests = _sidecar.BulkPublishes;
        Assert.True(requests.Count >= 3, $"expected the batch split in at least 3 requests, got {requests.Count}");
        Assert.All(requests, r => Assert.True(r.Entries.Sum(e => e.Event.Length) <= 4 * 1024));
        var delivered = requests.SelectMany(r => r.Entries).Select(e => EnvelopeCodec.Decode(e.Event)).ToList();
        Assert.Equal(6, delivered.Count);
        for (var i = 0; i < batch.Length; i++)
        {
            TestEnvelopes.AssertIntact(batch[i], delivered[i]);
        }

        // 5 shared a request with 4: daprd published it, then the publisher did again (counted as a duplicate).
        var inStream = (await _sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Select(d => EnvelopeCodec.Decode(d).Payload.Span[0]).ToList();
        Assert.Equal(new byte[] { 0, 1, 2, 3, 5, 5 }, inStream.Order().ToArray());
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, "cloudproxy_core_envelopes_duplicates_total", "reason=bulk_refused"));
    }

    [Fact]
    public async Task An_envelope_over_the_sidecars_max_body_size_is_quarantined_not_offered_again_forever()
    {
        await using var small = await TestSidecar.StartAsync(_redis, o => o with { MaxBodySize = 64 * 1024 });
        var publisher = Publisher(endpoint: small.Endpoint.ToString());

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: new byte[100 * 1024])], CancellationToken.None);

        // A request of that envelope alone is too large: it never will fit, so it is kept aside, counted.
        Assert.Empty(failed);
        Assert.Equal(1, _stores.Quarantine.Count);
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, "cloudproxy_core_envelopes_quarantined_total", "reason=refused_resourceexhausted"));
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, DaprMetricNames.PublishErrors, "code=ResourceExhausted"));
        Assert.Empty(small.BulkPublishes); // refused by the gRPC server before the handler ran
        Assert.Empty(await small.PublishedDataAsync(TestEnvelopes.Topic));
    }

    [Fact]
    public async Task With_redis_down_a_publish_fails_Internal_after_the_outbound_retries_and_works_again_once_it_is_back()
    {
        await using var sidecar = await TestSidecar.StartAsync(_redis, o => o with
        {
            PubSubOutbound = new DaprPolicy(TimeSpan.FromSeconds(2), DaprRetryPolicy.Constant(TimeSpan.FromMilliseconds(50), 2)),
        });
        var publisher = Publisher(endpoint: sidecar.Endpoint.ToString());
        await _redis.StopAsync();

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [9])], CancellationToken.None);

        Assert.Equal([0], failed);
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, DaprMetricNames.PublishErrors, "code=Internal"));
        await _redis.StartAgainAsync();
        Assert.True(await Eventually.TrueAsync(async () =>
            (await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [9])], CancellationToken.None)).Count == 0));
        Assert.Equal([9], EnvelopeCodec.Decode(Assert.Single(await sidecar.PublishedDataAsync(TestEnvelopes.Topic))).Payload.ToArray());
    }

    [Fact]
    public async Task Sidecar_without_the_stable_bulk_api_is_served_through_the_alpha_api_from_then_on()
    {
        _sidecar.BulkSupport = SidecarBulkSupport.Alpha1Only;
        var publisher = Publisher();

        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [1])], CancellationToken.None));
        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [2])], CancellationToken.None));

        var bulk = _sidecar.BulkPublishes;
        Assert.Equal(["BulkPublishEventAlpha1", "BulkPublishEventAlpha1"], bulk.Select(b => b.Rpc));
        Assert.Equal([[1], [2]], (await _sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Select(d => EnvelopeCodec.Decode(d).Payload.ToArray()));
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, DaprMetricNames.BulkPublishFallbacks, "to=alpha1"));
    }

    [Fact]
    public async Task Sidecar_without_bulk_publish_gets_single_publishes_and_is_not_asked_again()
    {
        _sidecar.BulkSupport = SidecarBulkSupport.None;
        var publisher = Publisher();
        Envelope[] first = [TestEnvelopes.Create(payload: [1]), TestEnvelopes.Create(payload: [2])];

        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, first, CancellationToken.None));
        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(payload: [3])], CancellationToken.None));

        Assert.Equal([[1], [2], [3]], _sidecar.Publishes.Select(p => EnvelopeCodec.Decode(p.Data).Payload.ToArray()));
        Assert.All(_sidecar.Publishes, p => Assert.Equal("application/octet-stream", p.DataContentType));
        Assert.Equal([[1], [2], [3]], (await _sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Select(d => EnvelopeCodec.Decode(d).Payload.ToArray()));
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, DaprMetricNames.BulkPublishFallbacks, "to=single"));
        Assert.Equal(3, await Published("single", "published"));
    }

    [Fact]
    public async Task Unavailable_sidecar_throws_so_the_outbox_spools_the_batch()
    {
        _sidecar.Unavailable = true;
        var publisher = Publisher();

        var error = await Assert.ThrowsAsync<DaprSidecarUnavailableException>(
            () => publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create()], CancellationToken.None));

        Assert.Contains("Unavailable", error.Message, StringComparison.Ordinal);
        Assert.Empty(_sidecar.BulkPublishes);
    }

    [Fact]
    public async Task Sidecar_that_is_not_running_throws_for_single_and_bulk_publishes()
    {
        var closedPort = ClosedPort();
        var bulk = Publisher(endpoint: $"http://127.0.0.1:{closedPort}");
        var single = Publisher(bulk: false, endpoint: $"http://127.0.0.1:{closedPort}");

        await Assert.ThrowsAsync<DaprSidecarUnavailableException>(() => bulk.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create()], CancellationToken.None));
        await Assert.ThrowsAsync<DaprSidecarUnavailableException>(() => single.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create()], CancellationToken.None));
    }

    [Fact]
    public async Task Cancelled_publish_throws_operation_cancelled_not_sidecar_unavailable()
    {
        var publisher = Publisher();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create()], cancelled.Token));
    }

    [Fact]
    public async Task Trace_context_travels_in_the_call_metadata_into_the_cloud_event_and_inside_the_envelope()
    {
        var publisher = Publisher(bulk: false);
        var envelope = TestEnvelopes.Create(traceParent: TestEnvelopes.TraceParent);
        var traceId = TestEnvelopes.TraceParent.Split('-')[1];

        await publisher.PublishAsync(TestEnvelopes.Topic, [envelope], CancellationToken.None);

        var publish = Assert.Single(_sidecar.Publishes);
        var traceParent = Assert.Single(publish.Headers, h => h.Key == "traceparent").Value;

        // Same trace; the span id is ours when a listener records the publish span, the ingress one otherwise.
        Assert.Equal(traceId, traceParent.Split('-')[1]);
        Assert.Equal(TestEnvelopes.TraceState, Assert.Single(publish.Headers, h => h.Key == "tracestate").Value);
        var cloudEvent = (JsonObject)JsonNode.Parse(Assert.Single(await _sidecar.Broker!.EntriesAsync(TestEnvelopes.Topic)).Data)!;
        Assert.Equal(traceId, ((string)cloudEvent["traceparent"]!).Split('-')[1]);
        Assert.Equal(TestEnvelopes.TraceState, (string?)cloudEvent["tracestate"]);
        var carried = EnvelopeCodec.Decode(publish.Data);
        Assert.Equal(TestEnvelopes.TraceParent, carried.TraceParent);
        Assert.Equal(TestEnvelopes.TraceState, carried.TraceState);
    }

    [Fact]
    public async Task Api_token_is_sent_as_dapr_api_token()
    {
        var publisher = Publisher(apiToken: "s3cret-token");

        await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create()], CancellationToken.None);

        Assert.Equal("s3cret-token", Assert.Single(Assert.Single(_sidecar.BulkPublishes).Headers, h => h.Key == "dapr-api-token").Value);
    }

    private Task<double> Published(string mode, string result) =>
        MetricValues.ReadAsync(_registry, DaprMetricNames.PublishEnvelopes, $"mode={mode}", $"result={result}");

    private DaprEnvelopePublisher Publisher(bool bulk = true, int bulkMaxBytes = 3 * 1024 * 1024, string? endpoint = null, string? apiToken = null)
    {
        var channel = new DaprSidecarChannel(endpoint ?? _sidecar.Endpoint.ToString(), apiToken, TimeSpan.FromSeconds(5));
        _channels.Add(channel);
        return new DaprEnvelopePublisher(
            channel,
            Options.Create(new TransportOptions { Kind = TransportKind.Dapr, PubSubName = TestEnvelopes.PubSub, BulkPublish = bulk }),
            Options.Create(new DaprTransportOptions { BulkPublishMaxBytes = bulkMaxBytes, PublishTimeout = TimeSpan.FromSeconds(5) }),
            new DaprMetrics(Metrics.WithCustomRegistry(_registry)),
            _stores.Metrics,
            _stores.Quarantine,
            TimeProvider.System,
            NullLogger<DaprEnvelopePublisher>.Instance);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

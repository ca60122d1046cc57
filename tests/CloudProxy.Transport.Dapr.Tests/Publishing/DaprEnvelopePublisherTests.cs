using System.Net;
using System.Net.Sockets;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Publishing;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests.Publishing;

/// <summary>The publisher against the sidecar double: what reaches the sidecar is what daprd would publish.</summary>
public sealed class DaprEnvelopePublisherTests : IAsyncLifetime
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly List<IDisposable> _channels = [];
    private DaprSidecarDouble _sidecar = null!;

    private readonly CoreStores _stores = CoreStores.Create();

    public async Task InitializeAsync() => _sidecar = await DaprSidecarDouble.StartAsync();

    public async Task DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        await _sidecar.DisposeAsync();
        await _stores.DisposeAsync();
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
        TestEnvelopes.AssertIntact(envelope, EnvelopeCodec.Decode(publish.Data));
        Assert.Empty(_sidecar.BulkPublishes);
    }

    [Fact]
    public async Task Bulk_publish_sends_every_envelope_as_an_octet_stream_entry()
    {
        var publisher = Publisher();
        Envelope[] batch = [TestEnvelopes.Create(payload: [1]), TestEnvelopes.Create(payload: [2, 2]), TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues())];

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        Assert.Empty(failed);
        var bulk = Assert.Single(_sidecar.BulkPublishes);
        Assert.Equal("BulkPublishEvent", bulk.Rpc);
        Assert.Equal(TestEnvelopes.PubSub, bulk.PubsubName);
        Assert.Equal(TestEnvelopes.Topic, bulk.Topic);
        Assert.Equal(3, bulk.Entries.Count);
        Assert.Equal(3, bulk.Entries.Select(e => e.EntryId).Distinct().Count());
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal("application/octet-stream", bulk.Entries[i].ContentType);
            TestEnvelopes.AssertIntact(batch[i], EnvelopeCodec.Decode(bulk.Entries[i].Event));
        }

        Assert.Empty(_sidecar.Publishes);
        Assert.Equal(3, await Published("bulk", "published"));
    }

    [Fact]
    public async Task Partial_bulk_failure_returns_the_indexes_of_the_failed_entries()
    {
        var publisher = Publisher();
        _sidecar.FailEntryIds["1"] = "broker refused";
        _sidecar.FailEntryIds["3"] = "broker refused";
        var batch = Enumerable.Range(0, 5).Select(i => TestEnvelopes.Create(payload: [(byte)i])).ToArray();

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

        Assert.Equal([1, 3], failed.Order());
        Assert.Equal(3, await Published("bulk", "published"));
        Assert.Equal(2, await Published("bulk", "failed"));
    }

    [Fact]
    public async Task Bulk_refused_as_a_whole_is_published_again_entry_by_entry()
    {
        // daprd answers a bulk publish with any failed entry with an error status and no entry list, so the
        // publisher cannot know which failed: it publishes each alone.
        var publisher = Publisher();
        _sidecar.FailBulkWith = StatusCode.Internal;

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, [TestEnvelopes.Create(), TestEnvelopes.Create()], CancellationToken.None);

        Assert.Empty(failed);
        Assert.Equal(2, _sidecar.Publishes.Count);
        Assert.Equal(2, await Published("single", "published"));
        Assert.Equal(1, await MetricValues.ReadAsync(_registry, DaprMetricNames.PublishErrors, "code=Internal"));
    }

    [Fact]
    public async Task Large_batches_are_split_so_no_bulk_request_exceeds_the_limit_and_indexes_stay_global()
    {
        var publisher = Publisher(bulkMaxBytes: 4 * 1024);
        var batch = Enumerable.Range(0, 6).Select(i => TestEnvelopes.Create(payload: Enumerable.Repeat((byte)i, 1500).ToArray())).ToArray();
        _sidecar.FailEntryIds["4"] = "broker refused";

        var failed = await publisher.PublishAsync(TestEnvelopes.Topic, batch, CancellationToken.None);

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
        Assert.Equal([[1], [2]], bulk.Select(b => EnvelopeCodec.Decode(Assert.Single(b.Entries).Event).Payload.ToArray()));
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
    public async Task Trace_context_travels_in_the_call_metadata_and_inside_the_envelope()
    {
        var publisher = Publisher(bulk: false);
        var envelope = TestEnvelopes.Create(traceParent: TestEnvelopes.TraceParent);

        await publisher.PublishAsync(TestEnvelopes.Topic, [envelope], CancellationToken.None);

        var publish = Assert.Single(_sidecar.Publishes);
        var traceParent = Assert.Single(publish.Headers, h => h.Key == "traceparent").Value;

        // Same trace; the span id is ours when a listener records the publish span, the ingress one otherwise.
        Assert.Equal(TestEnvelopes.TraceParent.Split('-')[1], traceParent.Split('-')[1]);
        Assert.Equal(TestEnvelopes.TraceState, Assert.Single(publish.Headers, h => h.Key == "tracestate").Value);
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

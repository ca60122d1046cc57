using System.Net;
using System.Text.Json;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Outbox;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>The real host with <c>--transport dapr</c>: Core's outbox and pump publishing through the sidecar double.</summary>
public sealed class DaprHostTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Host_with_the_dapr_transport_publishes_what_enters_the_outbox_through_the_sidecar()
    {
        await using var sidecar = await StartSidecarAsync();
        await using var host = await StartHostAsync(sidecar);
        var envelope = TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues());

        Assert.Equal(OutboxResult.Accepted, await host.Services.GetRequiredService<IOutbox>().EnqueueAsync(envelope));

        Assert.True(await Eventually.TrueAsync(() => sidecar.BulkPublishes.Count > 0), "nothing reached the sidecar");
        var bulk = Assert.Single(sidecar.BulkPublishes);
        Assert.Equal("pubsub-host", bulk.PubsubName);
        TestEnvelopes.AssertIntact(envelope, EnvelopeCodec.Decode(Assert.Single(await sidecar.PublishedDataAsync(TestEnvelopes.Topic))));
    }

    [Fact]
    public async Task Sidecar_that_goes_away_keeps_the_envelope_in_the_log_and_it_is_published_once_after_it_comes_back()
    {
        await using var sidecar = await StartSidecarAsync();
        await using var host = await StartHostAsync(sidecar);
        await sidecar.StopAsync();
        var envelope = TestEnvelopes.Create(payload: [8, 8]);

        Assert.Equal(OutboxResult.Accepted, await host.Services.GetRequiredService<IOutbox>().EnqueueAsync(envelope));

        Assert.True(
            await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.PublishFailures) >= 1),
            "the sidecar was not tried while it was down");
        Assert.Equal(1, await host.MetricAsync(CoreMetricNames.OutboxDepth));
        await sidecar.StartAgainAsync();

        Assert.True(await Eventually.TrueAsync(async () => (await sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Count > 0, TimeSpan.FromSeconds(30)), "the kept envelope was not published");
        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.OutboxDepth) == 0), "the outbox log did not empty");
        TestEnvelopes.AssertIntact(envelope, EnvelopeCodec.Decode(Assert.Single(await sidecar.PublishedDataAsync(TestEnvelopes.Topic))));
    }

    [Fact]
    public async Task Sidecar_outage_keeps_the_envelope_in_the_log_and_it_is_published_once_after_recovery()
    {
        await using var sidecar = await StartSidecarAsync();
        sidecar.Unavailable = true;
        await using var host = await StartHostAsync(sidecar);
        var envelope = TestEnvelopes.Create(payload: [7, 7, 7]);

        Assert.Equal(OutboxResult.Accepted, await host.Services.GetRequiredService<IOutbox>().EnqueueAsync(envelope));

        Assert.True(
            await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.PublishFailures) >= 1),
            "the sidecar was not tried while it was unavailable");
        Assert.Equal(1, await host.MetricAsync(CoreMetricNames.OutboxDepth));
        Assert.Empty(sidecar.BulkPublishes);

        sidecar.Unavailable = false;

        Assert.True(await Eventually.TrueAsync(() => sidecar.BulkPublishes.Count > 0), "the kept envelope was not published");
        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(CoreMetricNames.OutboxDepth) == 0), "the outbox log did not empty");
        var replayed = (await sidecar.PublishedDataAsync(TestEnvelopes.Topic)).Select(d => EnvelopeCodec.Decode(d)).ToList();
        TestEnvelopes.AssertIntact(envelope, Assert.Single(replayed));
    }

    [Fact]
    public async Task Host_with_the_dapr_transport_answers_dapr_subscribe_and_refuses_unknown_topics_with_404()
    {
        await using var sidecar = await DaprSidecarDouble.StartAsync();
        await using var host = await StartHostAsync(sidecar);

        using var subscribe = await host.Client.GetAsync(new Uri("/dapr/subscribe", UriKind.Relative));
        using var content = DaprdDeliveries.Content(TestEnvelopes.CloudEventOf(TestEnvelopes.Create("no-such-topic")), DaprdDeliveries.CloudEventContentType);
        using var delivery = await host.Client.PostAsync(new Uri("/dapr/topics/no-such-topic", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, subscribe.StatusCode);
        using var json = JsonDocument.Parse(await subscribe.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
        Assert.All(json.RootElement.EnumerateArray(), s => Assert.Equal("pubsub-host", s.GetProperty("pubsubname").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, delivery.StatusCode);
        Assert.Equal(1, await host.MetricAsync(DaprMetricNames.DeliveryRefused, ("reason", "unknown_topic")));
    }

    [Fact]
    public async Task Host_with_the_embedded_transport_has_no_dapr_endpoints()
    {
        await using var host = await RunningHost.StartAsync(["--transport", "embedded"]);

        using var subscribe = await host.Client.GetAsync(new Uri("/dapr/subscribe", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, subscribe.StatusCode);
    }

    private Task<DaprSidecarDouble> StartSidecarAsync() =>
        DaprSidecarDouble.StartAsync(new DaprSidecarOptions { Redis = _redis, PubSubName = "pubsub-host", AppId = "statsd-ingress" });

    private static Task<RunningHost> StartHostAsync(DaprSidecarDouble sidecar) =>
        RunningHost.StartAsync(
        [
            "--transport", "dapr",
            "--pubsub-name", "pubsub-host",
            $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}",
            $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}",
        ]);
}

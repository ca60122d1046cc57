using System.Net;
using System.Text;
using CloudProxy.IntegrationTests.Graphite;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.Pipeline;

/// <summary>
/// Holes of the Dapr path (issue 11) shown end to end: ingress and forwarder as separate hosts, each on its own
/// sidecar double configured as components/ configures daprd, over one real Redis. Each test passed against the old
/// double, whose tests delivered what they had recorded and took RETRY to mean "offered again"; against daprd's
/// behaviour these lose data with the current transport.
/// </summary>
public sealed class DaprDeliveryLossTests
{
    /// <summary>Short inbound retries, so that daprd gives up (and Redis acknowledges) within seconds, not 52.</summary>
    private static readonly DaprPolicy QuickInbound = new(TimeSpan.FromSeconds(20), DaprRetryPolicy.Constant(TimeSpan.FromMilliseconds(100), 3));

    [Fact]
    public async Task An_event_accepted_while_the_Sentry_upstream_is_down_reaches_it_once_it_is_back()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ingressSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "sentry-ingress"));
        await using var forwarderSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "sentry-forwarder") with { PubSubInbound = QuickInbound });
        await using var upstream = await SentryUpstreamSink.StartAsync();
        string[] sentry = [$"--pusher.sentry.host={upstream.Url}", "--CloudProxy:Transport:BulkSubscribeMaxMessages=1"];
        await using var ingress = await RunningHost.StartAsync([.. ingressSidecar.HostArguments(), .. sentry, "--services", "sentry-ingress"]);
        await using var forwarder = await RunningHost.StartAsync([.. forwarderSidecar.HostArguments(), .. sentry, "--services", "sentry-forwarder"]);
        await forwarderSidecar.SubscribeAppAsync(forwarder.BaseAddress);
        await upstream.StopAsync();

        var eventId = SentryRig.NewEventId();
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={SentryRig.Key}", UriKind.Relative)) { Content = new StringContent(SentryRig.Envelope(eventId)) })
        using (var accepted = await ingress.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        // The broker has handed the event over and been told it is done with (acknowledged): whatever the forwarder
        // does with it from now on is its own business.
        Assert.True(await Eventually.TrueAsync(
            async () => (await forwarderSidecar.PublishedDataAsync("sentry")).Count == 1 && await forwarderSidecar.Broker!.PendingAsync("sentry") == 0
                && forwarderSidecar.Deliveries.Count > 0,
            TimeSpan.FromSeconds(60)), "the event never reached the forwarder's sidecar");
        await upstream.StartAgainAsync();

        Assert.True(
            await Eventually.TrueAsync(() => upstream.CountContaining(eventId) >= 1, TimeSpan.FromSeconds(30)),
            $"the event accepted while the upstream was down never reached it; the forwarder's sidecar made {forwarderSidecar.Deliveries.Count} deliveries, "
            + $"answered {string.Join(", ", forwarderSidecar.Deliveries.Select(d => d.Reply).Distinct())}, and Redis acknowledged "
            + $"{forwarderSidecar.Broker!.AckedAfterError} message(s) after daprd gave up");
    }

    [Fact]
    public async Task Graphite_batches_of_2_MiB_all_reach_carbon_through_the_broker()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var gatewaySidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "graphite-gateway"));
        await using var forwarderSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "graphite-forwarder") with { PubSubInbound = QuickInbound });
        await using var carbon = new TcpLineSink();
        await using var gateway = await RunningHost.StartAsync([.. gatewaySidecar.HostArguments(), "--CloudProxy:Graphite:Gateway:DevMode=true", "--services", "graphite-gateway"]);
        await using var forwarder = await RunningHost.StartAsync([.. forwarderSidecar.HostArguments(), "--services", "graphite-forwarder", "-destinations", $"127.0.0.1:{carbon.Port}"]);

        var expected = await PostLargeBatchesAsync(gateway, batches: 10);
        Assert.True(await Eventually.TrueAsync(async () => (await gatewaySidecar.PublishedDataAsync("graphite")).Count == 10, TimeSpan.FromSeconds(30)), "not every batch was published");
        await forwarderSidecar.SubscribeAppAsync(forwarder.BaseAddress);

        Assert.True(
            await carbon.WaitForLinesAsync(expected, TimeSpan.FromSeconds(60)),
            $"carbon got {carbon.Lines.Count} of {expected} lines; deliveries (entries/bytes/status): "
            + string.Join(", ", forwarderSidecar.Deliveries.Select(d => $"{d.Entries}/{d.RequestBytes}/{d.Status}"))
            + $"; Redis acknowledged {forwarderSidecar.Broker!.AckedAfterError} message(s) after daprd gave up");
    }

    private static async Task<int> PostLargeBatchesAsync(RunningHost gateway, int batches)
    {
        var now = GraphiteTestHost.Now();
        var name = new string('x', 480);
        var total = 0;
        for (var b = 0; b < batches; b++)
        {
            var text = new StringBuilder();
            for (var i = 0; i < 4_000; i++)
            {
                text.Append("big.").Append(name).Append('.').Append(b).Append('.').Append(i).Append(" 1 ").Append(now).Append('\n');
                total++;
            }

            using var response = await gateway.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", "123", text.ToString()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        return total;
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CloudProxy.IntegrationTests.Graphite;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>
/// The image run as Kubernetes runs it (non-root, read-only root filesystem, a volume on /data, settings as
/// CloudProxy__ variables), its traffic checked where it lands: real listeners on the host's loopback.
/// </summary>
[Collection(ContainerTests.Name)]
public sealed class ContainerRunTests(CloudProxyImage image, ITestOutputHelper output)
{
    private const string AdminToken = "container-admin-token";

    [ContainerFact]
    public async Task All_services_in_one_read_only_container_deliver_statsd_sentry_and_graphite_to_listeners_on_the_host()
    {
        using var statsd = new UdpSink();
        await using var sentry = await SentryUpstreamSink.StartAsync();
        await using var carbon = new TcpLineSink();
        await using var volume = await PodmanVolume.CreateAsync();
        var adminPort = Loopback.FreeTcpPort();
        const string u = "CloudProxy__Sentry__Forwarder__Upstreams__0__";
        await using var container = await CloudProxyContainer.StartAsync(image, new ContainerSpec
        {
            Args = ["--services", "all"],
            DataVolume = volume,
            Env = new Dictionary<string, string>
            {
                ["CloudProxy__StatsD__Forwarder__Host"] = "127.0.0.1",
                ["CloudProxy__StatsD__Forwarder__Port"] = statsd.Port.ToString(CultureInfo.InvariantCulture),
                [u + "Name"] = "upstream",
                [u + "Url"] = sentry.Url,
                [u + "Keys__" + SentryRig.Key] = SentryRig.KeyA,
                ["CloudProxy__Graphite__Forwarder__Destinations"] = $"127.0.0.1:{carbon.Port}",
                ["CloudProxy__Graphite__Gateway__PlaintextAddress"] = $"127.0.0.1:{Loopback.FreeTcpPort()}",
                ["CloudProxy__Graphite__Gateway__AdminAddress"] = $"127.0.0.1:{adminPort}",
                ["CloudProxy__Graphite__Gateway__AdminToken"] = AdminToken,
            },
        });
        output.WriteLine($"container started (podman run to /healthz 200) in {container.StartupTime.TotalSeconds:F1} s");

        using var ready = await container.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var count = await container.Client.PostAsync(
            new Uri("/count/container.hits", UriKind.Relative), new FormUrlEncodedContent([new("value", "3")]));
        var eventId = SentryRig.NewEventId();
        using var envelope = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/{SentryRig.Project}/envelope/", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(eventId, message: "from-the-container"), Encoding.UTF8, "application/x-sentry-envelope"),
        };
        envelope.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());
        using var sent = await container.Client.SendAsync(envelope);
        var key = await CreateGraphiteKeyAsync(adminPort, "container");
        var now = GraphiteTestHost.Now();
        using var batch = GraphiteTestHost.PolymurRequest("/ingest", key, $"container.load 42 {now}\n");
        using var ingested = await container.Client.SendAsync(batch);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, count.StatusCode);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.True(ingested.IsSuccessStatusCode, $"/ingest answered {(int)ingested.StatusCode}: {await ingested.Content.ReadAsStringAsync()}");
        Assert.True(await statsd.WaitForLinesAsync(1, TimeSpan.FromSeconds(60)), $"no StatsD line reached the host:\n{await container.LogsAsync()}");
        Assert.Equal("container.hits:3|c", Assert.Single(statsd.Lines));
        Assert.True(await Eventually.TrueAsync(() => sentry.CountContaining(eventId) == 1, TimeSpan.FromSeconds(60)), $"the envelope did not reach the upstream:\n{await container.LogsAsync()}");
        var upstream = sentry.Received.Single(r => r.BodyText.Contains(eventId, StringComparison.Ordinal));
        Assert.Equal($"/api/{SentryRig.Project}/envelope/", upstream.Path);
        Assert.Contains("from-the-container", upstream.BodyText, StringComparison.Ordinal);
        Assert.True(await carbon.WaitForLinesAsync(1, TimeSpan.FromSeconds(60)), $"no Graphite line reached the host:\n{await container.LogsAsync()}");
        Assert.Equal($"container.load 42 {now}", Assert.Single(carbon.Lines));
        // Everything CloudProxy writes went to the volume (the root filesystem is read-only).
        Assert.True(Directory.Exists(Path.Combine(volume.Mountpoint, "spool")));
        Assert.True(File.Exists(Path.Combine(volume.Mountpoint, "state.db")));
        Assert.Equal(0, await container.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [ContainerFact]
    public async Task Ingress_and_forwarder_in_containers_of_their_own_meet_through_the_dapr_sidecar_api_as_the_chart_runs_them()
    {
        using var statsd = new UdpSink();
        await using var sidecar = await DaprSidecarDouble.StartAsync();
        await using var volume = await PodmanVolume.CreateAsync();
        var dapr = new Dictionary<string, string> { ["DAPR_GRPC_ENDPOINT"] = sidecar.Endpoint.ToString().TrimEnd('/') };
        await using var ingress = await CloudProxyContainer.StartAsync(image, new ContainerSpec
        {
            Args = ["--services", "statsd-ingress", "--transport", "dapr"],
            DataVolume = volume,
            Env = dapr,
        });
        await using var forwarder = await CloudProxyContainer.StartAsync(image, new ContainerSpec
        {
            Args = ["--services", "statsd-forwarder", "--transport", "dapr"],
            Env = new Dictionary<string, string>(dapr)
            {
                ["CloudProxy__StatsD__Forwarder__Host"] = "127.0.0.1",
                ["CloudProxy__StatsD__Forwarder__Port"] = statsd.Port.ToString(CultureInfo.InvariantCulture),
            },
        });

        using var count = await ingress.Client.PostAsync(new Uri("/count/split.hits", UriKind.Relative), new FormUrlEncodedContent([new("value", "5")]));
        Assert.Equal(HttpStatusCode.OK, count.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => sidecar.BulkPublishes.Count > 0, TimeSpan.FromSeconds(60)), $"the ingress published nothing:\n{await ingress.LogsAsync()}");
        var published = sidecar.BulkPublishes[0];
        // What daprd does next: read the forwarder's subscriptions, deliver the topic's entries to its route.
        using var subscriptions = JsonDocument.Parse(await forwarder.Client.GetStringAsync(new Uri("/dapr/subscribe", UriKind.Relative)));
        var route = subscriptions.RootElement.EnumerateArray()
            .Single(s => s.GetProperty("topic").GetString() == published.Topic && s.GetProperty("pubsubname").GetString() == published.PubsubName);
        var path = route.TryGetProperty("route", out var r) ? r.GetString()! : route.GetProperty("routes").GetProperty("default").GetString()!;
        var delivery = DaprdDeliveries.BulkDelivery(
            published.Topic,
            published.PubsubName,
            [.. published.Entries.Select(e => DaprdDeliveries.BulkEntry(e.EntryId, DaprdDeliveries.FromBulkEntry(published, e)))]);
        using var content = DaprdDeliveries.Content(delivery, DaprdDeliveries.BulkContentType);
        using var delivered = await forwarder.Client.PostAsync(new Uri(path, UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        using var statuses = JsonDocument.Parse(await delivered.Content.ReadAsStringAsync());
        Assert.All(statuses.RootElement.GetProperty("statuses").EnumerateArray(), s => Assert.Equal("SUCCESS", s.GetProperty("status").GetString()));
        Assert.True(await statsd.WaitForLinesAsync(1, TimeSpan.FromSeconds(60)), $"no StatsD line reached the host:\n{await forwarder.LogsAsync()}");
        Assert.Equal("split.hits:5|c", Assert.Single(statsd.Lines));
    }

    private static async Task<string> CreateGraphiteKeyAsync(int adminPort, string name)
    {
        using var admin = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        using var response = await admin.PostAsync(new Uri($"/keys/{name}", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }
}

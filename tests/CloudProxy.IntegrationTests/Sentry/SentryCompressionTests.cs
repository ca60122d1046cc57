using System.Net;
using System.Text;
using CloudProxy.Sentry;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// Issue 16 (Sentry 1): bodies go to each upstream gzip-compressed, the upstream (decoding as Sentry does)
/// gets exactly the bytes the SDK sent, and the bytes on the wire are counted per upstream.
/// </summary>
public sealed class SentryCompressionTests
{
    [Fact]
    public async Task Each_upstream_receives_gzip_that_decodes_to_the_bytes_sent_and_the_wire_bytes_are_counted()
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = SentryRig.NewEventId();
        // An event of the usual shape: repeated JSON (breadcrumbs, frames) compresses well.
        var crumbs = string.Join(',', Enumerable.Range(0, 200).Select(i => $"{{\"category\":\"http\",\"message\":\"GET /api/items/{i} 200\",\"level\":\"info\"}}"));
        var item = $"{{\"event_id\":\"{eventId}\",\"message\":\"compress me\",\"level\":\"error\",\"breadcrumbs\":{{\"values\":[{crumbs}]}}}}";
        var body = $"{{\"event_id\":\"{eventId}\"}}\n{{\"type\":\"event\",\"length\":{Encoding.UTF8.GetByteCount(item)}}}\n{item}\n";

        using var response = await rig.PostEnvelopeAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1 && rig.B.Received.Count == 1));
        foreach (var (sink, name) in new[] { (rig.A, "a"), (rig.B, "b") })
        {
            var got = sink.Received.Single();
            Assert.Equal("gzip", got.Header("Content-Encoding"));
            Assert.Equal(0x1f, got.WireBody[0]);
            Assert.Equal(0x8b, got.WireBody[1]);
            Assert.Equal(Encoding.UTF8.GetBytes(body), got.Body);
            Assert.True(got.WireBody.Length * 4 < got.Body.Length, $"{name}: {got.WireBody.Length} bytes on the wire for {got.Body.Length}");
            Assert.True(await Eventually.TrueAsync(async () => await rig.MetricAsync(SentryMetricNames.UpstreamWireBytes, ("upstream", name)) == got.WireBody.Length),
                $"{name}: wire bytes metric {await rig.MetricAsync(SentryMetricNames.UpstreamWireBytes, ("upstream", name))}, received {got.WireBody.Length}");
            Assert.Equal(got.Body.Length, await rig.MetricAsync(SentryMetricNames.UpstreamBodyBytes, ("upstream", name)));
        }
    }

    [Fact]
    public async Task A_store_event_is_compressed_too()
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = SentryRig.NewEventId();
        var json = $"{{\"event_id\":\"{eventId}\",\"message\":\"store compressed\",\"level\":\"error\"}}";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/{SentryRig.Project}/store/?sentry_key={SentryRig.Key}&sentry_version=7", UriKind.Relative))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };

        using var response = await rig.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1));
        var got = rig.A.Received.Single();
        Assert.Equal("gzip", got.Header("Content-Encoding"));
        Assert.Equal(json, got.BodyText);
    }

    [Fact]
    public async Task With_Compress_false_the_body_goes_as_stored_and_the_wire_bytes_equal_it()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Forwarder:Compress=false");
        var body = SentryRig.Envelope(SentryRig.NewEventId());

        using var response = await rig.PostEnvelopeAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1));
        var got = rig.A.Received.Single();
        Assert.Null(got.Header("Content-Encoding"));
        Assert.Equal(got.Body, got.WireBody);
        Assert.Equal(body, got.BodyText);
        Assert.True(await Eventually.TrueAsync(async () => await rig.MetricAsync(SentryMetricNames.UpstreamWireBytes, ("upstream", "a")) == got.WireBody.Length));
    }
}

using System.Net;
using System.Text.Json;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.Transport.Dapr.Tests.Subscriptions;

/// <summary>Size limits and how the endpoints are (or are not) mapped.</summary>
public sealed class DaprSubscriptionWiringTests
{
    private const string Route = "/dapr/topics/" + TestEnvelopes.Topic;
    private const int Limit = 64 * 1024;

    [Fact]
    public async Task Delivery_over_the_configured_limit_is_refused_413_and_the_app_keeps_serving()
    {
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await StartAsync(sink);
        var big = TestEnvelopes.CloudEventOf(TestEnvelopes.Create(payload: new byte[Limit * 2]));

        // Expect: 100-continue, as a well-behaved large upload does: the server refuses on Content-Length
        // before the body is sent, instead of racing a connection reset against the 413.
        using (var request = new HttpRequestMessage(HttpMethod.Post, Route) { Content = DaprdDeliveries.Content(big, DaprdDeliveries.CloudEventContentType) })
        {
            request.Headers.ExpectContinue = true;
            using var refused = await app.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            Assert.Contains("MaxDeliveryBytes", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var small = TestEnvelopes.Create(payload: [1, 2, 3]);
        using (var content = DaprdDeliveries.Content(TestEnvelopes.CloudEventOf(small), DaprdDeliveries.CloudEventContentType))
        using (var accepted = await app.Client.PostAsync(Route, content))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        TestEnvelopes.AssertIntact(small, Assert.Single(sink.Envelopes));
        Assert.Equal(1, await MetricValues.ReadAsync(app.Registry, DaprMetricNames.DeliveryRefused, "reason=too_large"));
    }

    [Fact]
    public async Task Chunked_delivery_over_the_limit_is_refused_413_while_reading()
    {
        var sink = new SinkHandler(TestEnvelopes.Topic);
        await using var app = await StartAsync(sink);
        var big = TestEnvelopes.CloudEventOf(TestEnvelopes.Create(payload: new byte[Limit * 2]));
        var bytes = JsonSerializer.SerializeToUtf8Bytes(big);

        // No Content-Length: the limit can only bite while the body is being read.
        using var content = new StreamContent(new NonSeekableStream(bytes));
        content.Headers.ContentType = new(DaprdDeliveries.CloudEventContentType);
        using var response = await app.Client.PostAsync(Route, content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(sink.Envelopes);
    }

    [Fact]
    public async Task Embedded_transport_maps_no_dapr_endpoints()
    {
        await using var app = await SubscriptionApp.StartAsync(
            [new SinkHandler(TestEnvelopes.Topic)],
            new Dictionary<string, string?> { ["CloudProxy:Transport:Kind"] = nameof(TransportKind.Embedded) });

        using var subscribe = await app.Client.GetAsync("/dapr/subscribe");
        using var content = DaprdDeliveries.Content(TestEnvelopes.CloudEventOf(TestEnvelopes.Create()), DaprdDeliveries.CloudEventContentType);
        using var delivery = await app.Client.PostAsync(Route, content);

        Assert.Equal(HttpStatusCode.NotFound, subscribe.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delivery.StatusCode);
    }

    [Fact]
    public async Task Bulk_subscribe_max_messages_of_one_turns_bulk_subscribe_off()
    {
        await using var app = await SubscriptionApp.StartAsync(
            [new SinkHandler(TestEnvelopes.Topic)],
            new Dictionary<string, string?> { ["CloudProxy:Transport:BulkSubscribeMaxMessages"] = "1" });

        using var response = await app.Client.GetAsync("/dapr/subscribe");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var bulk = Assert.Single(json.RootElement.EnumerateArray()).GetProperty("bulkSubscribe");
        Assert.False(bulk.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task Two_handlers_on_one_topic_stop_start_up_naming_the_topic()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => SubscriptionApp.StartAsync([new SinkHandler("twice"), new SinkHandler("twice")]));

        Assert.Contains("'twice'", error.Message, StringComparison.Ordinal);
    }

    private static Task<SubscriptionApp> StartAsync(SinkHandler sink) =>
        SubscriptionApp.StartAsync([sink], new Dictionary<string, string?> { ["CloudProxy:Transport:MaxDeliveryBytes"] = $"{Limit}" });

    /// <summary>Makes HttpClient send the body chunked (it cannot know the length).</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}

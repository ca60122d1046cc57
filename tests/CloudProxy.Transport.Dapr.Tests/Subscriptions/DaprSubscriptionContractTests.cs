using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudProxy.Core.Envelopes;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.Transport.Dapr.Tests.Subscriptions;

/// <summary>The subscription endpoints driven exactly as daprd drives them (see DaprdDeliveries for the shapes).</summary>
public sealed class DaprSubscriptionContractTests : IAsyncLifetime
{
    private const string Route = "/dapr/topics/" + TestEnvelopes.Topic;

    private readonly SinkHandler _sink = new(TestEnvelopes.Topic);
    private readonly SinkHandler _other = new("sentry-events");
    private SubscriptionApp _app = null!;

    public async Task InitializeAsync() => _app = await SubscriptionApp.StartAsync([_sink, _other]);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Subscribe_lists_every_handler_topic_on_the_configured_pubsub_with_bulk_settings()
    {
        using var response = await _app.Client.GetAsync("/dapr/subscribe");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var subscriptions = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(["sentry-events", TestEnvelopes.Topic], subscriptions.Select(s => s.GetProperty("topic").GetString()));
        var statsd = subscriptions[1];
        Assert.Equal(TestEnvelopes.PubSub, statsd.GetProperty("pubsubname").GetString());
        Assert.Equal(Route, statsd.GetProperty("route").GetString());
        var bulk = statsd.GetProperty("bulkSubscribe");
        Assert.True(bulk.GetProperty("enabled").GetBoolean());
        Assert.Equal(50, bulk.GetProperty("maxMessagesCount").GetInt32());
        Assert.Equal(40, bulk.GetProperty("maxAwaitDurationMs").GetInt32());
    }

    [Fact]
    public async Task Advertised_route_accepts_deliveries()
    {
        using var subscribe = await _app.Client.GetAsync("/dapr/subscribe");
        using var json = JsonDocument.Parse(await subscribe.Content.ReadAsStringAsync());
        var route = json.RootElement.EnumerateArray().Single(s => s.GetProperty("topic").GetString() == "sentry-events").GetProperty("route").GetString()!;
        var envelope = TestEnvelopes.Create("sentry-events");

        var (status, reply) = await PostAsync(route, TestEnvelopes.CloudEventOf(envelope));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        TestEnvelopes.AssertIntact(envelope, Assert.Single(_other.Envelopes));
    }

    [Fact]
    public async Task Cloud_event_holding_every_byte_value_reaches_the_handler_intact_and_is_answered_success()
    {
        var envelope = TestEnvelopes.Create(payload: TestEnvelopes.AllByteValues());

        var (status, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(envelope));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        var received = Assert.Single(_sink.Envelopes);
        Assert.Equal(TestEnvelopes.AllByteValues(), received.Payload.ToArray());
        TestEnvelopes.AssertIntact(envelope, received);
        Assert.Equal(1, await Entries("success"));
    }

    [Fact]
    public async Task Handler_retry_is_kept_in_the_deferral_log_and_answered_success_so_the_broker_never_has_to_redeliver()
    {
        // Redis Streams acknowledges a message whose retries are used up, and Kafka re-delivers a whole bulk:
        // neither may be trusted to redeliver, so what the forwarder cannot deliver now is kept here.
        var (status, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(TestEnvelopes.Create(outcome: "retry")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        Assert.Equal(1, await Entries("success"));
        Assert.Equal(0, await Entries("retry"));
        Assert.True(await Eventually.TrueAsync(() => _sink.Envelopes.Count >= 2), "the deferred envelope was not offered to the forwarder again");
    }

    [Fact]
    public async Task Handler_drop_is_answered_drop_and_counted()
    {
        var (_, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(TestEnvelopes.Create(outcome: "drop")));

        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Equal(1, await Dropped("handler"));
    }

    [Fact]
    public async Task Handler_that_throws_keeps_the_envelope_and_is_answered_success_not_an_error_status()
    {
        var (status, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(TestEnvelopes.Create(outcome: "throw")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        Assert.True(await Eventually.TrueAsync(() => _sink.Envelopes.Count >= 2), "the kept envelope was not offered to the forwarder again");
    }

    [Fact]
    public async Task Data_that_is_not_an_envelope_is_answered_drop_with_a_reason_and_counted()
    {
        var garbage = Encoding.ASCII.GetBytes("this is not an envelope");

        var (status, reply) = await PostAsync(Route, DaprdDeliveries.CloudEvent(TestEnvelopes.Topic, TestEnvelopes.PubSub, garbage));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Contains("not a CloudProxy envelope", reply.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Empty(_sink.Envelopes);
        Assert.Equal(1, await Dropped("undecodable"));
    }

    [Fact]
    public async Task Envelope_for_another_topic_is_answered_drop()
    {
        var (_, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(TestEnvelopes.Create("sentry-events")));

        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Empty(_sink.Envelopes);
        Assert.Empty(_other.Envelopes);
        Assert.Equal(1, await Dropped("wrong_topic"));
    }

    [Fact]
    public async Task Cloud_event_without_data_is_answered_drop()
    {
        var cloudEvent = TestEnvelopes.CloudEventOf(TestEnvelopes.Create());
        cloudEvent.Remove("data_base64");

        var (_, reply) = await PostAsync(Route, cloudEvent);

        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Equal(1, await Dropped("no_data"));
    }

    [Fact]
    public async Task Data_as_a_base64_string_from_a_binary_mode_broker_is_accepted()
    {
        var envelope = TestEnvelopes.Create();
        var cloudEvent = TestEnvelopes.CloudEventOf(envelope);
        cloudEvent.Remove("data_base64");

        // daprd rebuilds binary-mode CloudEvents with data = the message bytes, which Go marshals as base64.
        cloudEvent["data"] = Convert.ToBase64String(TestEnvelopes.Encode(envelope));

        var (_, reply) = await PostAsync(Route, cloudEvent);

        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        TestEnvelopes.AssertIntact(envelope, Assert.Single(_sink.Envelopes));
    }

    [Fact]
    public async Task Raw_payload_subscription_cloud_event_is_accepted()
    {
        var envelope = TestEnvelopes.Create();

        var (_, reply) = await PostAsync(Route, DaprdDeliveries.RawPayloadCloudEvent(TestEnvelopes.Topic, TestEnvelopes.PubSub, TestEnvelopes.Encode(envelope)));

        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        TestEnvelopes.AssertIntact(envelope, Assert.Single(_sink.Envelopes));
    }

    [Fact]
    public async Task Raw_envelope_body_is_accepted()
    {
        var envelope = TestEnvelopes.Create();
        using var content = DaprdDeliveries.Content(TestEnvelopes.Encode(envelope), DaprdDeliveries.CloudEventContentType);

        using var response = await _app.Client.PostAsync(Route, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("SUCCESS", (await ReplyOf(response)).GetProperty("status").GetString());
        TestEnvelopes.AssertIntact(envelope, Assert.Single(_sink.Envelopes));
    }

    [Fact]
    public async Task Malformed_json_is_answered_drop_because_daprd_would_retry_a_400_forever()
    {
        using var content = DaprdDeliveries.Content(Encoding.UTF8.GetBytes("{\"specversion\": \"1.0\", \"data_base64\": "), DaprdDeliveries.CloudEventContentType);

        using var response = await _app.Client.PostAsync(Route, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await ReplyOf(response);
        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Contains("not valid JSON", reply.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await Dropped("malformed_body"));
    }

    [Fact]
    public async Task Unknown_topic_is_answered_404_which_daprd_treats_as_drop()
    {
        using var content = DaprdDeliveries.Content(TestEnvelopes.CloudEventOf(TestEnvelopes.Create("nobody")), DaprdDeliveries.CloudEventContentType);

        using var response = await _app.Client.PostAsync("/dapr/topics/nobody", content);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no handler subscribes to topic 'nobody'", (await ReplyOf(response)).GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await MetricValues.ReadAsync(_app.Registry, DaprMetricNames.DeliveryRefused, "reason=unknown_topic"));
    }

    [Fact]
    public async Task Bulk_delivery_gets_one_status_per_entry_and_the_handler_gets_the_batch_in_one_call()
    {
        var ok = TestEnvelopes.Create(payload: [1, 2, 3]);
        var retry = TestEnvelopes.Create(payload: [4], outcome: "retry");
        var raw = TestEnvelopes.Create(payload: [0, 255]);
        var drop = TestEnvelopes.Create(payload: [5], outcome: "drop");
        var delivery = DaprdDeliveries.BulkDelivery(
            TestEnvelopes.Topic,
            TestEnvelopes.PubSub,
            DaprdDeliveries.BulkEntry("e1", TestEnvelopes.CloudEventOf(ok)),
            DaprdDeliveries.BulkEntry("e2", TestEnvelopes.CloudEventOf(retry)),
            DaprdDeliveries.BulkEntry("e3", DaprdDeliveries.CloudEvent(TestEnvelopes.Topic, TestEnvelopes.PubSub, [9, 9, 9])),
            DaprdDeliveries.RawBulkEntry("e4", TestEnvelopes.Encode(raw)),
            DaprdDeliveries.BulkEntry("e5", TestEnvelopes.CloudEventOf(drop)),
            DaprdDeliveries.BulkEntry("e6", TestEnvelopes.CloudEventOf(TestEnvelopes.Create("sentry-events"))));

        var (status, reply) = await PostAsync(Route, delivery, DaprdDeliveries.BulkContentType);

        Assert.Equal(HttpStatusCode.OK, status);
        var statuses = reply.GetProperty("statuses").EnumerateArray()
            .ToDictionary(s => s.GetProperty("entryId").GetString()!, s => s.GetProperty("status").GetString());
        Assert.Equal(
            new Dictionary<string, string?> { ["e1"] = "SUCCESS", ["e2"] = "SUCCESS", ["e3"] = "DROP", ["e4"] = "SUCCESS", ["e5"] = "DROP", ["e6"] = "DROP" },
            statuses);
        var batch = _sink.Batches[0];
        Assert.Equal(4, batch.Count);
        TestEnvelopes.AssertIntact(ok, batch[0]);
        TestEnvelopes.AssertIntact(retry, batch[1]);
        TestEnvelopes.AssertIntact(raw, batch[2]);
        TestEnvelopes.AssertIntact(drop, batch[3]);
        Assert.Equal(3, await Entries("success"));
        Assert.Equal(0, await Entries("retry"));
        Assert.Equal(3, await Entries("drop"));
    }

    [Fact]
    public async Task Bulk_entry_id_spelled_entryID_by_older_daprd_is_answered_under_that_id()
    {
        var entry = DaprdDeliveries.BulkEntry("only", TestEnvelopes.CloudEventOf(TestEnvelopes.Create()));
        entry.Remove("entryId");
        entry["entryID"] = "only";

        var (_, reply) = await PostAsync(Route, DaprdDeliveries.BulkDelivery(TestEnvelopes.Topic, TestEnvelopes.PubSub, entry), DaprdDeliveries.BulkContentType);

        var status = Assert.Single(reply.GetProperty("statuses").EnumerateArray());
        Assert.Equal("only", status.GetProperty("entryId").GetString());
        Assert.Equal("SUCCESS", status.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Bulk_entry_without_entry_id_is_left_out_of_the_batch_and_counted()
    {
        var anonymous = DaprdDeliveries.BulkEntry("x", TestEnvelopes.CloudEventOf(TestEnvelopes.Create(payload: [7])));
        anonymous.Remove("entryId");
        var named = TestEnvelopes.Create(payload: [8]);

        var (_, reply) = await PostAsync(
            Route,
            DaprdDeliveries.BulkDelivery(TestEnvelopes.Topic, TestEnvelopes.PubSub, anonymous, DaprdDeliveries.BulkEntry("named", TestEnvelopes.CloudEventOf(named))),
            DaprdDeliveries.BulkContentType);

        var status = Assert.Single(reply.GetProperty("statuses").EnumerateArray());
        Assert.Equal("named", status.GetProperty("entryId").GetString());
        TestEnvelopes.AssertIntact(named, Assert.Single(_sink.Envelopes));
        Assert.Equal(1, await MetricValues.ReadAsync(_app.Registry, DaprMetricNames.DeliveryRefused, "reason=missing_entry_id"));
    }

    [Fact]
    public async Task Delivery_larger_than_daprs_4_MB_default_is_accepted()
    {
        var payload = new byte[5 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        var envelope = TestEnvelopes.Create(payload: payload);

        var (status, reply) = await PostAsync(Route, TestEnvelopes.CloudEventOf(envelope));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", reply.GetProperty("status").GetString());
        Assert.Equal(payload, Assert.Single(_sink.Envelopes).Payload.ToArray());
    }

    private async Task<(HttpStatusCode Status, JsonElement Reply)> PostAsync(string route, JsonNode body, string contentType = DaprdDeliveries.CloudEventContentType)
    {
        using var content = DaprdDeliveries.Content(body, contentType);
        using var response = await _app.Client.PostAsync(route, content);
        return (response.StatusCode, await ReplyOf(response));
    }

    private static async Task<JsonElement> ReplyOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private Task<double> Entries(string status) =>
        MetricValues.ReadAsync(_app.Registry, DaprMetricNames.DeliveryEntries, $"topic={TestEnvelopes.Topic}", $"status={status}");

    private Task<double> Dropped(string reason) => MetricValues.ReadAsync(_app.Registry, DaprMetricNames.DeliveryDropped, $"reason={reason}");
}

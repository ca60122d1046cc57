using System.Net;
using System.Text;
using System.Text.Json;
using CloudProxy.Sentry;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// Issue 16 (Sentry 5): every Sentry envelope item type reaches every upstream byte-for-byte (only the
/// envelope header's mapped key fields change), and an upstream's rate limit on one category holds back only
/// the items of that category (and, when it is the event's, the items that need the event), as Relay maps
/// item types to categories; the rest goes at once and the held items follow when the limit ends.
/// </summary>
public sealed class SentryItemTypesTests
{
    private static readonly string EventId = "9ec79c33ec9942ab8353589fcb2e04dc";

    /// <summary>One item of each type, realistic payloads, binary ones with newlines inside; some without length.</summary>
    private static List<(string Type, byte[] Bytes)> Items(bool withEvent)
    {
        var random = new Random(16);
        var binary = new byte[3000];
        random.NextBytes(binary);
        binary[10] = (byte)'\n';
        binary[2999] = (byte)'\n';
        var items = new List<(string Type, byte[] Bytes)>();

        void Add(string header, byte[] payload, bool length = true)
        {
            var h = length ? header.Insert(header.Length - 1, $",\"length\":{payload.Length}") : header;
            items.Add((JsonDocument.Parse(h).RootElement.GetProperty("type").GetString()!, [.. Encoding.UTF8.GetBytes(h + "\n"), .. payload, (byte)'\n']));
        }

        void Json(string type, string json, bool length = true) => Add($"{{\"type\":\"{type}\"}}", Encoding.UTF8.GetBytes(json), length);

        if (withEvent)
        {
            Json("event", $"{{\"event_id\":\"{EventId}\",\"level\":\"error\",\"exception\":{{\"values\":[{{\"type\":\"Error\",\"value\":\"boom é\"}}]}}}}");
        }

        Json("transaction", $"{{\"event_id\":\"{EventId}\",\"type\":\"transaction\",\"transaction\":\"GET /items\",\"start_timestamp\":1700000000.0,\"timestamp\":1700000001.5,\"contexts\":{{\"trace\":{{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\"}}}}}}");
        Json("session", "{\"sid\":\"7c7b6585-f901-4351-bf8d-dd1c3ffb3a4e\",\"status\":\"ok\",\"init\":true,\"started\":\"2026-12-03T12:00:00Z\",\"attrs\":{\"release\":\"app@1\"}}", length: false);
        Json("sessions", "{\"aggregates\":[{\"started\":\"2026-12-03T12:00:00Z\",\"exited\":3,\"errored\":1}],\"attrs\":{\"release\":\"app@1\"}}");
        Json("client_report", "{\"timestamp\":1700000000,\"discarded_events\":[{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":2}]}", length: false);
        Add("{\"type\":\"attachment\",\"filename\":\"dump.bin\",\"content_type\":\"application/octet-stream\",\"attachment_type\":\"event.attachment\"}", binary);
        Json("user_report", $"{{\"event_id\":\"{EventId}\",\"name\":\"Jane\",\"email\":\"jane@example.com\",\"comments\":\"it broke\"}}");
        if (withEvent)
        {
            Json("feedback", "{\"type\":\"feedback\",\"contexts\":{\"feedback\":{\"message\":\"great app\",\"contact_email\":\"a@b.c\"}}}");
        }

        Json("check_in", "{\"check_in_id\":\"83a7c03ed0a04e1b97e2e3b18d38f244\",\"monitor_slug\":\"nightly\",\"status\":\"ok\",\"duration\":12.5}");
        Json("profile", $"{{\"event_id\":\"{EventId}\",\"platform\":\"python\",\"version\":\"1\",\"profile\":{{\"samples\":[],\"stacks\":[],\"frames\":[]}}}}");
        Json("replay_event", "{\"type\":\"replay_event\",\"replay_id\":\"36b75d9fa11f45459412a96c41bdf691\",\"segment_id\":0,\"urls\":[\"https://example.com/\"]}");
        Add("{\"type\":\"replay_recording\"}", [.. Encoding.UTF8.GetBytes("{\"segment_id\":0}\n"), .. binary[..500]]);
        Json("span", "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"b0e6f15b45c36b12\",\"op\":\"db\",\"start_timestamp\":1700000000.1,\"timestamp\":1700000000.2}");
        Add("{\"type\":\"log\",\"item_count\":2,\"content_type\":\"application/vnd.sentry.items.log+json\"}", Encoding.UTF8.GetBytes("{\"items\":[{\"timestamp\":1700000000,\"level\":\"info\",\"body\":\"one\"},{\"timestamp\":1700000001,\"level\":\"warn\",\"body\":\"two\"}]}"));
        Add("{\"type\":\"statsd\"}", Encoding.UTF8.GetBytes("page.load@millisecond:120|d|#route:/items|T1700000000\nbutton.click@none:1|c|#id:buy|T1700000000"));
        Add("{\"type\":\"a_future_item_type\",\"whatever\":{\"nested\":[1,2]}}", binary[100..400]);
        return items;
    }

    private static byte[] EnvelopeOf(string header, IEnumerable<(string Type, byte[] Bytes)> items) =>
        [.. Encoding.UTF8.GetBytes(header + "\n"), .. items.SelectMany(i => i.Bytes)];

    private static string Header(SentryRig rig) =>
        $"{{\"event_id\":\"{EventId}\",\"sent_at\":\"2026-12-03T12:00:01.000Z\",\"dsn\":\"{rig.Dsn}\",\"sdk\":{{\"name\":\"sentry.python\",\"version\":\"2.40.0\"}},"
        + $"\"trace\":{{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"public_key\":\"{SentryRig.Key}\",\"sample_rate\":\"1.0\",\"sampled\":\"true\"}}}}";

    /// <summary>What the upstream must see as the header: the same line with its key (dsn and trace) and project mapped.</summary>
    private static string MappedHeader(SentryRig rig, string key, string project) =>
        Header(rig).Replace(SentryRig.Key, key, StringComparison.Ordinal).Replace($"/{SentryRig.Project}\"", $"/{project}\"", StringComparison.Ordinal);

    /// <summary>The test's own reading of an envelope's items (header line + payload + newline each), not the proxy's.</summary>
    private static List<(string Type, byte[] Bytes)> Parse(byte[] body, out string header)
    {
        var at = Array.IndexOf(body, (byte)'\n');
        header = Encoding.UTF8.GetString(body, 0, at);
        at++;
        var items = new List<(string Type, byte[] Bytes)>();
        while (at < body.Length)
        {
            var start = at;
            var newline = Array.IndexOf(body, (byte)'\n', at);
            using var h = JsonDocument.Parse(body.AsMemory(at, newline - at));
            at = newline + 1;
            at = h.RootElement.TryGetProperty("length", out var length) ? at + length.GetInt32() : Array.IndexOf(body, (byte)'\n', at) is var n and >= 0 ? n : body.Length;
            at = Math.Min(at + 1, body.Length);
            items.Add((h.RootElement.GetProperty("type").GetString()!, body[start..at]));
        }

        return items;
    }

    [Fact]
    public async Task Every_item_type_reaches_each_upstream_byte_for_byte_with_only_the_key_fields_mapped()
    {
        await using var rig = await SentryRig.StartAsync();
        var items = Items(withEvent: true);
        Assert.Equal(16, items.Count);
        var body = EnvelopeOf(Header(rig), items);

        using var response = await rig.PostEnvelopeAsync(string.Empty, auth: null, raw: body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1 && rig.B.Received.Count == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single();
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            Assert.Equal(EnvelopeOf(MappedHeader(rig, key, project), items), got.Body);
            Assert.Equal(items.Select(i => i.Type), Parse(got.Body, out _).Select(i => i.Type));
        }
    }

    /// <summary>
    /// Item types held back by a limit on each category, written out from Relay's mapping (Item::quantities and
    /// Enforcement::retain_item, see SentryCategoryNames.FromItemType), for an envelope with a transaction and no
    /// error event. When the transaction is limited, the items that require the event go with it.
    /// </summary>
    public static TheoryData<string, string[]> Limits => new()
    {
        { "transaction", ["transaction", "attachment", "user_report", "profile", "replay_event"] },
        { "session", ["session", "sessions"] },
        { "attachment", ["attachment"] },
        { "feedback", ["user_report"] },
        { "monitor", ["check_in"] },
        { "profile", ["profile"] },
        { "replay", ["replay_event", "replay_recording"] },
        { "span", ["span"] },
        { "log_item", ["log"] },
        { "log_byte", ["log"] },
        { "metric_bucket", ["statsd"] },
        // No item of these: nothing held (client reports and unknown item types are never limited).
        { "error", [] },
        { "default", [] },
    };

    [Theory]
    [MemberData(nameof(Limits))]
    public async Task A_rate_limit_on_one_category_holds_only_its_items_and_they_follow_when_it_ends(string category, string[] held)
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Deferral:RetryDelaysSeconds=0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,1");
        var first = 0;
        rig.A.Responder = _ => Interlocked.Exchange(ref first, 1) == 0
            ? (429, new Dictionary<string, string> { ["X-Sentry-Rate-Limits"] = $"2:{category}:organization:test_quota", ["Retry-After"] = "2" })
            : null;
        var items = Items(withEvent: false);
        var body = EnvelopeOf(Header(rig), items);

        using var response = await rig.PostEnvelopeAsync(string.Empty, auth: null, raw: body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expectedRequests = held.Length == 0 ? 1 : 2;
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 1 && rig.A.Received.Count == expectedRequests, TimeSpan.FromSeconds(20)),
            $"A received {rig.A.Received.Count} (expected {expectedRequests}), B {rig.B.Received.Count}");
        Assert.Equal(EnvelopeOf(MappedHeader(rig, SentryRig.KeyB, SentryRig.ProjectB), items), rig.B.Received.Single().Body);

        var mappedA = MappedHeader(rig, SentryRig.KeyA, SentryRig.ProjectA);
        var got = rig.A.Received.ToList();
        // First the items no limit covers, byte-for-byte, in their order; then, once it ended, the held ones.
        Assert.Equal(EnvelopeOf(mappedA, items.Where(i => !held.Contains(i.Type))), got[0].Body);
        if (held.Length > 0)
        {
            Assert.Equal(EnvelopeOf(mappedA, items.Where(i => held.Contains(i.Type))), got[1].Body);
            Assert.Equal(held.Length, await rig.MetricAsync(SentryMetricNames.UpstreamItemsHeld, ("upstream", "a")));
        }

        await Task.Delay(500);
        Assert.Equal(expectedRequests, rig.A.Received.Count);
    }
}

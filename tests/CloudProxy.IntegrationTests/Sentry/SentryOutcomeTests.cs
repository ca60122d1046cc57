using System.Net;
using System.Text;
using System.Text.Json;
using CloudProxy.Sentry;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// Issue 16 (Sentry 3): what the ingress refuses under a rate limit reaches every upstream as client_report
/// items (rate_limited_events, reason and category as Relay's), batched, with the key and project mapped.
/// </summary>
public sealed class SentryOutcomeTests
{
    private static string Transaction(string eventId)
    {
        var item = $"{{\"event_id\":\"{eventId}\",\"type\":\"transaction\",\"transaction\":\"GET /\",\"start_timestamp\":1700000000.0,\"timestamp\":1700000001.0}}";
        return $"{{\"event_id\":\"{eventId}\"}}\n{{\"type\":\"transaction\",\"length\":{Encoding.UTF8.GetByteCount(item)}}}\n{item}\n";
    }

    /// <summary>Sums, over every client report a sink received, the quantities per (reason, category).</summary>
    private static Dictionary<(string Reason, string Category), long> Reported(SentryUpstreamSink sink, string project, string key)
    {
        var sums = new Dictionary<(string, string), long>();
        foreach (var request in sink.Received.Where(r => r.BodyText.Contains("\"client_report\"", StringComparison.Ordinal)))
        {
            Assert.Equal($"/api/{project}/envelope/", request.Path);
            Assert.Contains($"sentry_key={key}", request.Query, StringComparison.Ordinal);
            var lines = request.BodyText.Split('\n');
            using var report = JsonDocument.Parse(lines[2]);
            foreach (var e in report.RootElement.GetProperty("rate_limited_events").EnumerateArray())
            {
                var slot = (e.GetProperty("reason").GetString()!, e.GetProperty("category").GetString()!);
                sums[slot] = sums.GetValueOrDefault(slot) + e.GetProperty("quantity").GetInt64();
            }
        }

        return sums;
    }

    [Fact]
    public async Task Envelopes_refused_under_an_upstreams_limit_are_reported_to_every_upstream_as_client_reports()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Ingress:OutcomeFlushSeconds=0.3");
        rig.A.Responder = c => c.Request.Headers.ContentEncoding.Count > 0 && !c.Request.Query.ContainsKey("sentry_client")
            ? (429, new Dictionary<string, string> { ["X-Sentry-Rate-Limits"] = "60:transaction:organization:org_quota" })
            : null;
        using (var first = await rig.PostEnvelopeAsync(Transaction(SentryRig.NewEventId())))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // Once the forwarder learned the limit, the ingress answers transactions 429 itself.
        var refused = 0;
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            using var r = await rig.PostEnvelopeAsync(Transaction(SentryRig.NewEventId()));
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused++;
            }

            return refused >= 3;
        }));

        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            Assert.True(await Eventually.TrueAsync(() => Reported(sink, project, key).GetValueOrDefault(("org_quota", "transaction")) == refused),
                $"reported {string.Join(", ", Reported(sink, project, key))}, refused {refused}");
            Assert.Single(Reported(sink, project, key));
            Assert.True(sink.Received.Count(r => r.BodyText.Contains("\"client_report\"", StringComparison.Ordinal)) < refused || refused < 2,
                "client reports are batched, not one per refusal");
        }

        Assert.Equal(refused, await rig.MetricAsync(SentryMetricNames.OutcomesReported, ("reason", "org_quota"), ("category", "transaction")));
    }

    [Fact]
    public async Task Envelopes_over_the_ingress_quota_are_reported_with_their_attachment_bytes()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Ingress:OutcomeFlushSeconds=0.3", "--CloudProxy:Sentry:Ingress:KeyRequestsPerSecond=0.01");
        var eventId = SentryRig.NewEventId();
        var body = SentryRig.Envelope(eventId) + "{\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n0123456789\n";
        var refused = 0;
        for (var i = 0; i < 5; i++)
        {
            using var r = await rig.PostEnvelopeAsync(body);
            refused += r.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
        }

        Assert.True(refused >= 3, $"only {refused} of 5 refused by the quota");
        Assert.True(await Eventually.TrueAsync(() => Reported(rig.B, SentryRig.ProjectB, SentryRig.KeyB).GetValueOrDefault(("cloudproxy_quota", "error")) == refused));
        var reported = Reported(rig.B, SentryRig.ProjectB, SentryRig.KeyB);
        Assert.Equal(10L * refused, reported[("cloudproxy_quota", "attachment")]);
        Assert.Equal(refused, reported[("cloudproxy_quota", "attachment_item")]);
    }

    [Fact]
    public async Task With_OutcomeReports_false_nothing_is_reported()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Ingress:OutcomeFlushSeconds=0.2", "--CloudProxy:Sentry:Ingress:OutcomeReports=false", "--CloudProxy:Sentry:Ingress:KeyRequestsPerSecond=0.01");
        for (var i = 0; i < 3; i++)
        {
            using var r = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));
        }

        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 1));
        await Task.Delay(1000);
        Assert.Single(rig.B.Received);
    }
}

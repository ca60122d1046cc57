using System.Text;
using CloudProxy.Sentry.Ingress;
using CloudProxy.Sentry.Protocol;
using Prometheus;

namespace CloudProxy.Sentry.Tests.Ingress;

/// <summary>
/// Guards the explicit maps from the Sentry ingress enums to their rules and labels: every enum value has an
/// entry, entries are distinct, and the label values are exactly the ones tests and dashboards read.
/// </summary>
public class SentryMapGuardTests
{
    [Fact]
    public void Every_endpoint_has_a_descriptor()
    {
        foreach (var endpoint in Enum.GetValues<SentryIngressEndpoint>())
        {
            Assert.True(SentryIngressEndpoints.All.ContainsKey(endpoint), $"SentryIngressEndpoint.{endpoint} has no entry in SentryIngressEndpoints.All");
            Assert.Equal(endpoint, SentryIngressEndpoints.Of(endpoint).Endpoint);
        }
    }

    [Fact]
    public void Every_buffered_endpoint_has_routes_and_its_own_kind()
    {
        var buffered = SentryIngressEndpoints.Buffered;
        Assert.All(buffered, e => Assert.NotEmpty(e.Routes));
        Assert.Equal(buffered.Count, buffered.Select(e => e.Kind).Distinct(StringComparer.Ordinal).Count());
        var names = buffered.SelectMany(e => e.Routes).Select(r => r.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(
            ["envelope", "store", "store-legacy", "security", "csp-report", "minidump", "attachments"],
            names);
    }

    [Fact]
    public void The_route_rules_are_the_ones_the_handler_had()
    {
        Assert.Equal(["Envelope", "Store", "Security"], Where(e => e.RequiresBody));
        Assert.Equal(["Store", "Security", "Minidump"], Where(e => e.MintsEventId));
        Assert.Equal(["Minidump", "Attachment"], Where(e => e.Limit == SentryBodyLimit.Attachment));
        Assert.Equal(["Envelope"], Where(e => e.Limit == SentryBodyLimit.Envelope));
        Assert.Equal(["Minidump"], Where(e => e.Reply == SentryReply.PlainId));
        Assert.Equal(["Attachment"], Where(e => e.Reply == SentryReply.Created));
        Assert.Equal(SentryEnvelopeHeaders.MinidumpKind, SentryIngressEndpoints.Of(SentryIngressEndpoint.Minidump).Kind);
        Assert.Equal(SentryCategories.Error, SentryIngressEndpoints.Of(SentryIngressEndpoint.Minidump).Categories);
    }

    [Fact]
    public void Labels_are_distinct_and_the_ones_dashboards_read()
    {
        Assert.Equal(
            "envelope store security minidump attachment passthrough preflight",
            string.Join(' ', Enum.GetValues<SentryIngressEndpoint>().Select(SentryIngressEndpoints.Label)));
        Assert.Equal(
            "auth_missing auth_multiple auth_invalid key_not_allowed project_not_allowed invalid_project unsupported_encoding "
            + "corrupt_body body_too_large event_too_large malformed_envelope malformed_event empty_body rate_limited "
            + "quota_exceeded outbox_full aborted no_upstream invalid_path not_found passthrough_disabled",
            string.Join(' ', Enum.GetValues<SentryRefusal>().Select(SentryIngressEndpoints.Label)));
        var outcomes = Enum.GetValues<SentryIngressMetrics.Outcome>().Select(SentryIngressMetrics.Label).ToList();
        Assert.Equal(outcomes.Count, outcomes.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(200, "ok")]
    [InlineData(201, "ok")]
    [InlineData(400, "bad_request")]
    [InlineData(401, "unauthorized")]
    [InlineData(403, "forbidden")]
    [InlineData(413, "payload_too_large")]
    [InlineData(415, "unsupported_media_type")]
    [InlineData(429, "too_many_requests")]
    [InlineData(502, "bad_gateway")]
    [InlineData(504, "bad_gateway")]
    [InlineData(503, "unavailable")]
    public async Task A_request_counts_under_its_endpoint_and_outcome_labels(int status, string outcome)
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new SentryIngressMetrics(Metrics.WithCustomRegistry(registry));
        foreach (var endpoint in Enum.GetValues<SentryIngressEndpoint>())
        {
            metrics.Request(endpoint, status);
        }

        metrics.Refusal(SentryRefusal.PassthroughDisabled);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        foreach (var endpoint in Enum.GetValues<SentryIngressEndpoint>())
        {
            Assert.Contains($"{SentryMetricNames.Requests}{{endpoint=\"{SentryIngressEndpoints.Label(endpoint)}\",outcome=\"{outcome}\"}} 1", text, StringComparison.Ordinal);
        }

        Assert.Contains($"{SentryMetricNames.Refusals}{{reason=\"passthrough_disabled\"}} 1", text, StringComparison.Ordinal);
    }

    private static string[] Where(Func<SentryEndpointInfo, bool> rule) =>
        [.. SentryIngressEndpoints.Buffered.Where(rule).Select(e => e.Endpoint.ToString())];
}

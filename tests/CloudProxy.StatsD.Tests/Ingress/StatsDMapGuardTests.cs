using System.Text;
using CloudProxy.StatsD.Ingress;
using CloudProxy.StatsD.Protocol;
using Prometheus;

namespace CloudProxy.StatsD.Tests.Ingress;

/// <summary>
/// Guards the explicit maps from the StatsD enums to their rules and labels: every enum value has an entry, the
/// entries are distinct, and the label values are exactly the ones tests and dashboards read.
/// </summary>
public class StatsDMapGuardTests
{
    [Fact]
    public void Every_metric_type_has_a_descriptor_with_a_distinct_name_and_suffix()
    {
        foreach (var type in Enum.GetValues<StatsDMetricType>())
        {
            Assert.True(StatsDMetricTypes.All.ContainsKey(type), $"StatsDMetricType.{type} has no entry in StatsDMetricTypes.All");
            Assert.Equal(type, StatsDMetricTypes.Of(type).Type);
        }

        var infos = StatsDMetricTypes.All.Values;
        Assert.Equal(infos.Length, infos.Select(i => i.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(infos.Length, infos.Select(i => i.Suffix).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_metric_type_parses_back_from_its_name_and_its_suffix()
    {
        foreach (var type in Enum.GetValues<StatsDMetricType>())
        {
            var info = StatsDMetricTypes.Of(type);
            Assert.True(StatsDMetricTypes.TryParseName(info.Name, out var byName));
            Assert.Equal(type, byName);
            Assert.True(StatsDMetricTypes.TryParseSuffix(info.Suffix, out var bySuffix));
            Assert.Equal(type, bySuffix);
            Assert.True(StatsDMetricTypes.TryParseName(info.Suffix, out var suffixAsName));
            Assert.Equal(type, suffixAsName);
        }

        Assert.False(StatsDMetricTypes.TryParseSuffix("count", out _));
        Assert.False(StatsDMetricTypes.TryParseName("histogram", out _));
    }

    [Fact]
    public void The_protocol_rules_are_statsd_http_proxys()
    {
        // The sample rate applies to counters and timers only; a signed gauge value is a shift; a timing needs its time.
        Assert.Equal(["Count", "Timing"], Rule(i => i.Sampled));
        Assert.Equal(["Gauge"], Rule(i => i.Shifts));
        Assert.Equal(["Timing"], Rule(i => i.DefaultValue is null));
        Assert.Equal("c g ms s", string.Join(' ', Enum.GetValues<StatsDMetricType>().Select(t => StatsDMetricTypes.Of(t).Suffix)));
        Assert.Equal("c", Encoding.ASCII.GetString(StatsDMetricTypes.Suffix(StatsDMetricType.Count)));
    }

    [Fact]
    public void Every_metric_type_has_its_own_ingress_endpoint_labelled_with_its_name()
    {
        var endpoints = Enum.GetValues<StatsDMetricType>().Select(StatsDIngressLabels.EndpointOf).ToList();
        Assert.Equal(endpoints.Count, endpoints.Distinct().Count());
        foreach (var type in Enum.GetValues<StatsDMetricType>())
        {
            Assert.Equal(StatsDMetricTypes.Of(type).Name, StatsDIngressLabels.Of(StatsDIngressLabels.EndpointOf(type)));
        }
    }

    [Fact]
    public void Every_endpoint_and_refusal_has_a_distinct_label()
    {
        var endpoints = Enum.GetValues<StatsDIngressEndpoint>().Select(StatsDIngressLabels.Of).ToList();
        Assert.Equal(endpoints.Count, endpoints.Distinct(StringComparer.Ordinal).Count());
        var reasons = Enum.GetValues<StatsDRefusal>().Select(StatsDIngressLabels.Of).ToList();
        Assert.Equal(reasons.Count, reasons.Distinct(StringComparer.Ordinal).Count());
        var outcomes = Enum.GetValues<StatsDIngressMetrics.Outcome>().Select(StatsDIngressMetrics.Label).ToList();
        Assert.Equal(outcomes.Count, outcomes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Labels_are_the_ones_dashboards_read()
    {
        Assert.Equal(
            "heartbeat count gauge timing set batch preflight",
            string.Join(' ', Enum.GetValues<StatsDIngressEndpoint>().Select(StatsDIngressLabels.Of)));
        Assert.Equal(
            "invalid_key invalid_value missing_value invalid_sample_rate invalid_tags tags_disabled invalid_type malformed_line "
            + "malformed_body empty_batch unsupported_media_type body_too_large too_many_metrics token_missing token_invalid "
            + "outbox_full flood_client flood_token cardinality_prefix cardinality_prefixes cardinality_token",
            string.Join(' ', Enum.GetValues<StatsDRefusal>().Select(StatsDIngressLabels.Of)));
    }

    [Theory]
    [InlineData(200, "ok")]
    [InlineData(204, "ok")]
    [InlineData(400, "bad_request")]
    [InlineData(401, "unauthorized")]
    [InlineData(403, "forbidden")]
    [InlineData(413, "payload_too_large")]
    [InlineData(415, "unsupported_media_type")]
    [InlineData(429, "too_many_requests")]
    [InlineData(503, "unavailable")]
    public async Task A_request_counts_under_its_endpoint_and_outcome_labels(int status, string outcome)
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new StatsDIngressMetrics(Metrics.WithCustomRegistry(registry));
        foreach (var endpoint in Enum.GetValues<StatsDIngressEndpoint>())
        {
            metrics.Request(endpoint, status);
        }

        metrics.Refusal(StatsDRefusal.TooManyNamesForToken);
        metrics.LineRefused(StatsDRefusal.InvalidKey);
        var text = await Export(registry);
        foreach (var endpoint in Enum.GetValues<StatsDIngressEndpoint>())
        {
            Assert.Contains($"{StatsDMetricNames.Requests}{{endpoint=\"{StatsDIngressLabels.Of(endpoint)}\",outcome=\"{outcome}\"}} 1", text, StringComparison.Ordinal);
        }

        Assert.Contains($"{StatsDMetricNames.Refusals}{{reason=\"cardinality_token\"}} 1", text, StringComparison.Ordinal);
        Assert.Contains($"{StatsDMetricNames.LinesRefused}{{reason=\"invalid_key\"}} 1", text, StringComparison.Ordinal);
    }

    private static string[] Rule(Func<StatsDMetricTypeInfo, bool> rule) =>
        [.. Enum.GetValues<StatsDMetricType>().Where(t => rule(StatsDMetricTypes.Of(t))).Select(t => t.ToString())];

    private static async Task<string> Export(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

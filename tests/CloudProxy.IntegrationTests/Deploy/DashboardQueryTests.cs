using System.Text.Json;
using System.Text.RegularExpressions;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// Every metric the Grafana dashboard and the alerts query is one the services really export: the names are
/// checked against a live /metrics scrape of the host running every service.
/// </summary>
public sealed partial class DashboardQueryTests
{
    [Fact]
    public async Task Dashboard_in_the_repo_is_the_one_the_chart_ships()
    {
        var objects = await HelmChart.RenderAsync();
        var configMap = Assert.Single(objects, o => o.Kind == "ConfigMap" && o.Name.EndsWith("-dashboard", StringComparison.Ordinal));
        Assert.Equal("1", configMap.Map("metadata.labels")["grafana_dashboard"]);
        using var shipped = JsonDocument.Parse(configMap.Map("data")["cloudproxy.json"]);
        using var repo = JsonDocument.Parse(File.ReadAllText(Path.Combine(HelmChart.ChartDir, "dashboards", "cloudproxy.json")));
        Assert.Equal(repo.RootElement.GetRawText(), shipped.RootElement.GetRawText());
    }

    [Fact]
    public async Task Every_metric_in_the_dashboard_and_the_alerts_is_exported_by_a_live_host()
    {
        var exported = await ExportedNamesAsync();
        var objects = await HelmChart.RenderAsync();

        using var dashboard = JsonDocument.Parse(objects.Single(o => o.Kind == "ConfigMap" && o.Name.EndsWith("-dashboard", StringComparison.Ordinal)).Map("data")["cloudproxy.json"]);
        var queries = Exprs(dashboard.RootElement).ToList();
        var rule = objects.Single(o => o.Kind == "PrometheusRule");
        var alertExprs = rule.List("spec.groups.0.rules").Select(r => new K8sObject((YamlDotNet.RepresentationModel.YamlMappingNode)r).Scalar("expr")!).ToList();
        Assert.True(queries.Count >= 10, $"only {queries.Count} dashboard queries found");
        Assert.True(alertExprs.Count >= 4, $"only {alertExprs.Count} alerts found");

        var used = queries.Concat(alertExprs).SelectMany(q => MetricName().Matches(q).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.True(used.Count >= 10, $"only {used.Count} metric names used");
        var missing = used.Where(name => !exported.Contains(name)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, "queried but not exported: " + string.Join(", ", missing));
    }

    /// <summary>Names a host running every service declares (# TYPE), with the series names histograms add.</summary>
    private static async Task<HashSet<string>> ExportedNamesAsync()
    {
        await using var host = await RunningHost.StartAsync("--services", "all");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (await host.ScrapeMetricsAsync()).Split('\n'))
        {
            var parts = line.Split(' ');
            if (parts is ["#", "TYPE", var name, var type])
            {
                names.Add(name);
                if (type is "histogram" or "summary")
                {
                    names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                }
            }
        }

        Assert.Contains("cloudproxy_core_outbox_envelopes", names);
        return names;
    }

    private static IEnumerable<string> Exprs(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return property.Value.GetString()!;
                    }

                    foreach (var inner in Exprs(property.Value))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in Exprs(item))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    /// <summary>CloudProxy's metric names and the ogre compatibility names (the only prefixes the queries use).</summary>
    [GeneratedRegex(@"\b(?:cloudproxy|ogre)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}

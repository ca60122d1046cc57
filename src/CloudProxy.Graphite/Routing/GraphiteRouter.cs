using System.Globalization;
using System.Text;
using CloudProxy.Graphite.Protocol;

namespace CloudProxy.Graphite.Routing;

/// <summary>Where one metric goes: its name after rewrites, the destinations (indexes into <see cref="GraphiteRouter.Destinations"/>).</summary>
internal sealed class GraphiteRouteResult
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Destination indexes, each once, in the order the rules named them.</summary>
    public List<int> Destinations { get; } = [];

    /// <summary>A rule sent it to blackhole.</summary>
    public bool Blackholed { get; set; }

    /// <summary>No rule matched (nor rewrote) it.</summary>
    public bool NothingMatched { get; set; }

    public void Clear()
    {
        Name = string.Empty;
        Destinations.Clear();
        Blackholed = false;
        NothingMatched = false;
    }
}

/// <summary>
/// The compiled routes file, run as carbon-c-relay's <c>router_route</c> runs its rules: top to bottom; a
/// <c>rewrite</c> whose expression matches changes the name in place for the rules after it and never stops;
/// a <c>match</c> that matches hands the point to each of its clusters (every member of a <c>forward</c>
/// cluster, <c>replication</c> members of a hash ring chosen by the current name) and ends the walk when it
/// says <c>stop</c> (a match sending to <c>blackhole</c> always stops). A point no match sent anywhere is
/// dropped. <see cref="Describe"/> prints the walk in <c>carbon-c-relay -t</c>'s format.
/// </summary>
internal sealed class GraphiteRouter
{
    private readonly Rule[] _rules;
    private readonly int _maxGroups;

    public GraphiteRouter(GraphiteRouteConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        var destinations = config.Destinations();
        Destinations = destinations;
        var index = destinations.Select((d, i) => (d.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        Clusters = [.. config.Clusters.Select(c => new Cluster(c, [.. c.Members.Select(m => index[m.Name])]))];
        var byName = Clusters.ToDictionary(c => c.Definition.Name, StringComparer.Ordinal);
        _rules = [.. config.Rules.Select(r => new Rule(r, GraphiteRouteMatcher.Compile(r.Pattern, out _)!, [.. r.Targets.Select(t => byName[t])]))];
        _maxGroups = Math.Max(1, _rules.Max(r => r.Matcher.Groups));
    }

    public GraphiteRouteConfig Config { get; }

    public IReadOnlyList<GraphiteDestination> Destinations { get; }

    internal Cluster[] Clusters { get; }

    /// <summary>Routes one metric name; <paramref name="result"/> is cleared first.</summary>
    public void Route(string metric, GraphiteRouteResult result) => Walk(metric, result, null);

    /// <summary>Routes one name and prints the walk as <c>carbon-c-relay -t</c> does (rules matched, clusters and members, stop).</summary>
    public GraphiteRouteResult Describe(string metric, StringBuilder output)
    {
        var result = new GraphiteRouteResult();
        Walk(metric, result, output);
        return result;
    }

    private void Walk(string metric, GraphiteRouteResult result, StringBuilder? output)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(result);
        result.Clear();
        Span<(int Start, int Length)> spans = stackalloc (int, int)[_maxGroups];
        Span<int> nodes = stackalloc int[Math.Max(1, Destinations.Count)];
        var matched = false;
        var sent = false;
        byte[]? bytes = null;
        foreach (var rule in _rules)
        {
            if (!rule.Matcher.IsMatch(metric, spans))
            {
                continue;
            }

            matched = true;
            output?.Append(rule.Definition.IsRewrite ? "rewrite\n" : "match\n");
            output?.Append(rule.Matcher.Type switch
            {
                GraphiteMatchType.MatchAll => $"    * -> {metric}\n",
                GraphiteMatchType.Regex => $"    {rule.Matcher.Pattern} (regex) -> {metric}\n",
                var t => $"    {rule.Matcher.Pattern} [{t switch { GraphiteMatchType.Contains => "strstr", GraphiteMatchType.StartsWith => "strncmp", GraphiteMatchType.EndsWith => "tailcmp", _ => "strcmp" }}: {rule.Matcher.Literal}]\n    -> {metric}\n",
            });
            if (rule.Definition.IsRewrite)
            {
                metric = rule.Matcher.Rewrite(metric, rule.Definition.Replacement!, spans);
                bytes = null;
                output?.Append(CultureInfo.InvariantCulture, $"    into({rule.Definition.Replacement}) -> {metric}\n");
                continue;
            }

            if (rule.Definition.Blackhole)
            {
                result.Blackholed = true;
                output?.Append("    blackholed\n");
            }

            foreach (var cluster in rule.Targets)
            {
                sent = true;
                var kind = cluster.Definition.Kind;
                output?.Append(kind switch
                {
                    GraphiteClusterKind.Forward => "    forward(",
                    GraphiteClusterKind.CarbonCh => "    carbon_ch(",
                    _ => "    fnv1a_ch(",
                }).Append(cluster.Definition.Name).Append(")\n");
                if (cluster.Ring is null)
                {
                    foreach (var member in cluster.Members)
                    {
                        Add(result, member, output);
                    }
                }
                else
                {
                    bytes ??= Encoding.UTF8.GetBytes(metric);
                    var found = cluster.Ring.GetNodes(bytes, nodes[..cluster.Definition.Replication]);
                    for (var n = 0; n < found; n++)
                    {
                        Add(result, cluster.Members[nodes[n]], output);
                    }
                }
            }

            if (rule.Definition.Stop)
            {
                output?.Append("    stop\n");
                break;
            }
        }

        result.Name = metric;
        result.NothingMatched = !matched;
        if (!sent)
        {
            result.Blackholed = true;
        }

        if (!matched)
        {
            output?.Append(CultureInfo.InvariantCulture, $"nothing matched {metric}\n");
        }
    }

    private void Add(GraphiteRouteResult result, int destination, StringBuilder? output)
    {
        var d = Destinations[destination];
        output?.Append(CultureInfo.InvariantCulture, $"        {d.Host}:{d.Port}\n");
        if (!result.Destinations.Contains(destination))
        {
            result.Destinations.Add(destination);
        }
    }

    internal sealed class Cluster
    {
        public Cluster(GraphiteCluster definition, int[] members)
        {
            Definition = definition;
            Members = members;
            Ring = definition.Kind switch
            {
                GraphiteClusterKind.CarbonCh => new CarbonHashRing(definition.Members),
                GraphiteClusterKind.Fnv1aCh => new Fnv1aHashRing(definition.Members),
                _ => null,
            };
        }

        public GraphiteCluster Definition { get; }

        /// <summary>Indexes into the router's destinations.</summary>
        public int[] Members { get; }

        public IGraphiteRing? Ring { get; }
    }

    private sealed record Rule(GraphiteRouteRule Definition, GraphiteRouteMatcher Matcher, Cluster[] Targets);
}

using System.Globalization;
using System.Text;
using CloudProxy.Graphite.Protocol;

namespace CloudProxy.Graphite.Routing;

/// <summary>How a destination group spreads the points routed to it.</summary>
internal enum GraphiteClusterKind
{
    /// <summary>carbon-c-relay's <c>forward</c>: every member gets every point.</summary>
    Forward = 0,

    /// <summary>carbon's ConsistentHashRing (<see cref="CarbonHashRing"/>).</summary>
    CarbonCh = 1,

    /// <summary>carbon-c-relay's fnv1a_ch (<see cref="Fnv1aHashRing"/>).</summary>
    Fnv1aCh = 2,
}

/// <summary>A named destination group: carbon-c-relay's <c>cluster</c>.</summary>
internal sealed record GraphiteCluster(string Name, GraphiteClusterKind Kind, int Replication, IReadOnlyList<GraphiteDestination> Members, int Line);

/// <summary>One <c>match</c> expression (a match with several expressions is several rules, as in the relay) or one <c>rewrite</c>.</summary>
internal sealed record GraphiteRouteRule(
    int Number, int Line, bool IsRewrite, string Pattern, string? Replacement, IReadOnlyList<string> Targets, bool Blackhole, bool Stop)
{
    /// <summary>How the rule names itself in errors: <c>line 4: match rule 2 (^sys\.)</c>.</summary>
    public string Describe => $"line {Line}: {(IsRewrite ? "rewrite" : "match")} rule {Number} ({Pattern})";
}

/// <summary>
/// A routes file in a subset of carbon-c-relay's configuration syntax (carbon-c-relay.md), so one file can be
/// checked with <c>carbon-c-relay -t -f FILE</c>:
/// <code>
/// cluster NAME (forward | carbon_ch [replication N] | fnv1a_ch [replication N]) host[:port][=instance] ... ;
/// match (* | EXPR ...) send to (NAME ... | blackhole) [stop] ;
/// rewrite EXPR into REPLACEMENT ;
/// </code>
/// Comments run from <c>#</c> to the end of the line; a token is a run of characters other than white space,
/// <c>;</c> and <c>#</c>, or a double-quoted string in which <c>\x</c> stands for <c>x</c> (the relay's lexer).
/// Everything the relay has beyond this (listen, statistics, aggregate, any_of, failover, validate, route
/// using, include) is refused with the line that uses it.
/// </summary>
internal sealed class GraphiteRouteConfig
{
    public const int DefaultPort = 2003;

    public GraphiteRouteConfig(IReadOnlyList<GraphiteCluster> clusters, IReadOnlyList<GraphiteRouteRule> rules)
    {
        Clusters = clusters;
        Rules = rules;
    }

    public IReadOnlyList<GraphiteCluster> Clusters { get; }

    public IReadOnlyList<GraphiteRouteRule> Rules { get; }

    /// <summary>Every destination of every cluster, each once (clusters sharing a host:port share its link), in order of first mention.</summary>
    public IReadOnlyList<GraphiteDestination> Destinations() =>
        [.. Clusters.SelectMany(c => c.Members).DistinctBy(d => d.Name, StringComparer.Ordinal)];

    /// <summary>Reads and parses a file; errors name the file, line and rule.</summary>
    public static GraphiteRouteConfig? Load(string path, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add($"routes file '{path}' cannot be read: {ex.Message}");
            return null;
        }

        var before = errors.Count;
        var config = Parse(text, errors);
        for (var i = before; i < errors.Count; i++)
        {
            errors[i] = $"routes file '{path}' {errors[i]}";
        }

        return config;
    }

    /// <summary>Parses the text; null when there were errors (all of them are in <paramref name="errors"/>).</summary>
    public static GraphiteRouteConfig? Parse(string text, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        var clusters = new List<GraphiteCluster>();
        var rules = new List<GraphiteRouteRule>();
        int matches = 0, rewrites = 0;
        foreach (var statement in Statements(text, errors))
        {
            var words = statement.Words;
            var line = statement.Line;
            switch (words[0].ToLowerInvariant())
            {
                case "cluster":
                    if (ParseCluster(words, line, errors) is { } cluster)
                    {
                        if (clusters.Any(c => string.Equals(c.Name, cluster.Name, StringComparison.Ordinal)) || cluster.Name == "blackhole")
                        {
                            errors.Add($"line {line}: cluster {cluster.Name} is defined twice (or is the reserved name blackhole)");
                        }
                        else
                        {
                            clusters.Add(cluster);
                        }
                    }

                    break;
                case "match":
                    matches++;
                    ParseMatch(words, line, matches, clusters, rules, errors);
                    break;
                case "rewrite":
                    rewrites++;
                    if (words.Count != 4 || !string.Equals(words[2], "into", StringComparison.Ordinal))
                    {
                        errors.Add($"line {line}: rewrite rule {rewrites} must read `rewrite EXPRESSION into REPLACEMENT;`");
                        break;
                    }

                    var rewrite = new GraphiteRouteRule(rewrites, line, true, words[1], words[3], [], false, false);
                    if (GraphiteRouteMatcher.Compile(rewrite.Pattern, out var rewriteError) is null)
                    {
                        errors.Add($"{rewrite.Describe}: {rewriteError}");
                    }

                    rules.Add(rewrite);
                    break;
                default:
                    errors.Add($"line {line}: `{words[0]}` is not supported here (only cluster, match and rewrite; see the Graphite README)");
                    break;
            }
        }

        if (errors.Count == before && rules.Count == 0)
        {
            errors.Add("has no match rule: every point would be dropped");
        }

        return errors.Count == before ? new GraphiteRouteConfig(clusters, rules) : null;
    }

    private static GraphiteCluster? ParseCluster(List<string> words, int line, List<string> errors)
    {
        if (words.Count < 4)
        {
            errors.Add($"line {line}: cluster must read `cluster NAME TYPE host[:port][=instance] ...;`");
            return null;
        }

        var name = words[1];
        var kind = words[2].ToLowerInvariant() switch
        {
            "forward" => GraphiteClusterKind.Forward,
            "carbon_ch" => GraphiteClusterKind.CarbonCh,
            "fnv1a_ch" => GraphiteClusterKind.Fnv1aCh,
            _ => (GraphiteClusterKind?)null,
        };
        if (kind is null)
        {
            errors.Add($"line {line}: cluster {name}: type `{words[2]}` is not supported (forward, carbon_ch, fnv1a_ch)");
            return null;
        }

        var at = 3;
        var replication = 1;
        if (kind != GraphiteClusterKind.Forward && string.Equals(words[at], "replication", StringComparison.Ordinal))
        {
            if (at + 1 >= words.Count || !int.TryParse(words[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out replication) || replication < 1)
            {
                errors.Add($"line {line}: cluster {name}: replication needs a count of at least 1");
                return null;
            }

            at += 2;
        }

        var members = new List<GraphiteDestination>();
        for (; at < words.Count; at++)
        {
            var text = words[at];
            string? instance = null;
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                instance = text[(equals + 1)..];
                text = text[..equals];
            }

            var withPort = text.Contains(':', StringComparison.Ordinal) && !(text.StartsWith('[') && text.EndsWith(']')) ? text : $"{text}:{DefaultPort}";
            var destination = GraphiteDestination.Parse(withPort, out var error);
            if (destination is null || destination.Instance is not null || instance is "")
            {
                errors.Add($"line {line}: cluster {name}: member '{words[at]}': {error ?? "is not host[:port][=instance]"}");
                return null;
            }

            members.Add(destination with { Instance = instance });
        }

        if (members.Count == 0)
        {
            errors.Add($"line {line}: cluster {name} has no members");
            return null;
        }

        if (members.DistinctBy(m => (m.Host, m.Port)).Count() != members.Count)
        {
            errors.Add($"line {line}: cluster {name} lists a member twice");
            return null;
        }

        if (kind == GraphiteClusterKind.CarbonCh && members.DistinctBy(m => (m.Host, m.Instance)).Count() != members.Count)
        {
            errors.Add($"line {line}: cluster {name}: carbon_ch needs distinct (host, instance) pairs (add =instance)");
            return null;
        }

        if (replication > members.Count)
        {
            errors.Add($"line {line}: cluster {name}: replication {replication} is more than its {members.Count} member(s)");
            return null;
        }

        return new GraphiteCluster(name, kind.Value, replication, members, line);
    }

    private static void ParseMatch(List<string> words, int line, int number, List<GraphiteCluster> clusters, List<GraphiteRouteRule> rules, List<string> errors)
    {
        var send = words.IndexOf("send");
        var label = $"line {line}: match rule {number}";
        if (send < 2 || send + 2 >= words.Count || !string.Equals(words[send + 1], "to", StringComparison.Ordinal))
        {
            errors.Add($"{label} must read `match EXPRESSION ... send to CLUSTER ... [stop];` (validate and route using are not supported)");
            return;
        }

        var expressions = words[1..send];
        var targets = words[(send + 2)..];
        var stop = targets[^1] == "stop";
        if (stop)
        {
            targets = targets[..^1];
        }

        var blackhole = targets is ["blackhole"];
        if (targets.Count == 0 || (!blackhole && targets.Contains("blackhole")))
        {
            errors.Add($"{label}: send to names one or more clusters, or blackhole alone");
            return;
        }

        if (expressions.Contains("*") && expressions.Count > 1)
        {
            errors.Add($"{label}: * stands alone");
            return;
        }

        foreach (var target in blackhole ? [] : targets)
        {
            if (!clusters.Any(c => string.Equals(c.Name, target, StringComparison.Ordinal)))
            {
                errors.Add($"{label} ({string.Join(' ', expressions)}): cluster {target} is not defined above it");
            }
        }

        foreach (var expression in expressions)
        {
            // The relay: "a match with as destination the blackhole cluster, has an implicit stop".
            var rule = new GraphiteRouteRule(number, line, false, expression, null, blackhole ? [] : targets, blackhole, stop || blackhole);
            if (GraphiteRouteMatcher.Compile(expression, out var error) is null)
            {
                errors.Add($"{rule.Describe}: {error}");
            }

            rules.Add(rule);
        }
    }

    private sealed record Statement(int Line, List<string> Words);

    /// <summary>Splits the text into <c>;</c>-terminated statements of tokens.</summary>
    private static List<Statement> Statements(string text, List<string> errors)
    {
        var statements = new List<Statement>();
        var words = new List<string>();
        var line = 1;
        var startLine = 1;
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                i++;
            }
            else if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == ';')
            {
                if (words.Count > 0)
                {
                    statements.Add(new Statement(startLine, words));
                }

                words = [];
                i++;
            }
            else
            {
                if (words.Count == 0)
                {
                    startLine = line;
                }

                var token = new StringBuilder();
                if (c == '"')
                {
                    i++;
                    while (i < text.Length && text[i] != '"' && text[i] != '\n')
                    {
                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] != '\n')
                        {
                            i++;
                        }

                        token.Append(text[i++]);
                    }

                    if (i >= text.Length || text[i] != '"')
                    {
                        errors.Add($"line {line}: unterminated string");
                        return statements;
                    }

                    i++;
                }
                else
                {
                    while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ';' and not '#' and not '"')
                    {
                        token.Append(text[i++]);
                    }
                }

                words.Add(token.ToString());
            }
        }

        if (words.Count > 0)
        {
            errors.Add($"line {startLine}: `{words[0]} …` does not end with ;");
        }

        return statements;
    }
}

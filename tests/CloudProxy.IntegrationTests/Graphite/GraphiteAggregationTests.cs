using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.Graphite;
using CloudProxy.Graphite.Routing;
using CloudProxy.Host;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>carbon-aggregator's rules, checked against the real carbon-aggregator fed the same lines.</summary>
public sealed class GraphiteAggregationTests
{
    // Every method, <field>, <<field>>, * and partial-* parts, two rules feeding one output, two frequencies.
    private const string Rules = """
        # aggregation-rules.conf
        agg.<env>.all.requests (3) = sum app.<env>.*.requests
        agg.<env>.latency.avg (3) = avg app.<env>.host*.latency
        agg.<env>.latency.min (5) = min app.<env>.host*.latency
        agg.<env>.latency.max (5) = max app.<env>.host*.latency
        agg.count.<env> (3) = count app.<env>.*.*
        agg.deep.<path>.p90 (5) = p90 deep.<<path>>.value
        agg.<env>.all.requests (5) = max app.<env>.web*.requests
        """;

    [Fact]
    public async Task The_same_lines_give_the_same_outputs_as_the_real_carbon_aggregator()
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var random = new Random(17);
        var lines = new StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            // 40 seconds of history spread over many intervals, some of them older than MAX_AGGREGATION_INTERVALS.
            var timestamp = now - 120 + random.Next(0, 110);
            var env = (string[])["prod", "dev", "qa"];
            var value = Math.Round((random.NextDouble() * 2000) - 500, random.Next(0, 4));
            var name = (i % 4) switch
            {
                0 => $"app.{env[i % 3]}.web{random.Next(5)}.requests",
                1 => $"app.{env[i % 3]}.host{random.Next(5)}.latency",
                2 => $"deep.a{random.Next(3)}.b.c{random.Next(2)}.value",
                _ => $"other.{random.Next(100)}.metric",
            };
            lines.Append(CultureInfo.InvariantCulture, $"{name} {value.ToString(CultureInfo.InvariantCulture)} {timestamp}\n");
        }

        var ours = Ours(lines.ToString(), now);

        await using var sink = new TcpLineSink();
        await using var carbon = await CarbonAggregatorServer.StartAsync(Rules, sink.Port);
        await carbon.SendAsync(lines.ToString());
        Assert.True(await sink.WaitForLinesAsync(ours.Count, TimeSpan.FromSeconds(30)),
            $"carbon-aggregator sent {sink.Lines.Count} of {ours.Count} lines: {carbon.Output[..Math.Min(2000, carbon.Output.Length)]}");
        await Task.Delay(TimeSpan.FromSeconds(6)); // a second compute of every buffer: nothing more may come
        Assert.True(ours.Count > 100, $"only {ours.Count} outputs");
        Assert.Equal(ours.Order(StringComparer.Ordinal), sink.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_gateway_with_aggregation_rules_emits_the_aggregate_at_the_boundary_and_forwards_the_inputs()
    {
        await using var sink = new TcpLineSink();
        var rules = Path.GetTempFileName();
        await File.WriteAllTextAsync(rules, "agg.<env>.requests (2) = sum app.<env>.*.requests\nagg.<env>.n (2) = count app.<env>.*.requests\n");
        try
        {
            await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{sink.Port}", $"--CloudProxy:Graphite:Forwarder:AggregationRulesFile={rules}");
            var key = await GraphiteTestHost.CreateKeyAsync(host, "team-a");
            var now = GraphiteTestHost.Now();
            var interval = now - (now % 2) - 2;
            var lines = $"app.prod.web1.requests 1.5 {interval}\napp.prod.web2.requests 2 {interval + 1}\napp.prod.web3.requests 4 {interval}\nother.x 7 {now}\n";
            var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, lines));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            Assert.True(await sink.WaitForLinesAsync(6, TimeSpan.FromSeconds(10)), string.Join('\n', sink.Lines));
            await Task.Delay(2500); // the next boundary: the interval is not active any more, nothing new
            Assert.Equal(
                new[] { $"agg.prod.requests 7.5 {interval}", $"agg.prod.n 3 {interval}", $"app.prod.web1.requests 1.5 {interval}", $"app.prod.web2.requests 2 {interval + 1}", $"app.prod.web3.requests 4 {interval}", $"other.x 7 {now}" }.Order(StringComparer.Ordinal),
                sink.Lines.Order(StringComparer.Ordinal));
            Assert.Equal(2, await host.MetricAsync(GraphiteMetricNames.Aggregated));
        }
        finally
        {
            File.Delete(rules);
        }
    }

    [Theory]
    [InlineData("agg.<env> (5) = median app.<env>.x", "line 1 (agg.<env> (5) = median app.<env>.x): method `median` is not one of")]
    [InlineData("\n\nagg.<nope> (5) = sum app.<env>.x", "line 3 (agg.<nope> (5) = sum app.<env>.x): output template `agg.<nope>` uses `<nope>`")]
    [InlineData("agg.x (five) = sum app.*", "line 1 (agg.x (five) = sum app.*): frequency `(five)`")]
    [InlineData("agg.x = sum app.*", "line 1 (agg.x = sum app.*): is not `output_template (frequency) = method input_pattern`")]
    public async Task A_bad_aggregation_rule_stops_start_up_with_exit_2_naming_its_line(string text, string message)
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, text);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await CloudProxyApp.RunAsync(
                ["--services", "graphite-gateway,graphite-forwarder", "--urls", "http://127.0.0.1:0", "-destinations", "127.0.0.1:2003", $"--CloudProxy:Graphite:Forwarder:AggregationRulesFile={path}"], stdout, stderr);
            Assert.Equal(2, code);
            Assert.Contains("CloudProxy:Graphite:Forwarder:AggregationRulesFile: aggregation rules file '", stderr.ToString(), StringComparison.Ordinal);
            Assert.Contains(message, stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Our aggregator over the same lines, computed once at <paramref name="now"/> (every buffer).</summary>
    private static List<string> Ours(string lines, long now)
    {
        var errors = new List<string>();
        var rules = new List<GraphiteAggregationRule>();
        var number = 0;
        foreach (var line in Rules.Split('\n'))
        {
            number++;
            if (line.Trim() is { Length: > 0 } text && !text.StartsWith('#'))
            {
                rules.Add(GraphiteAggregationRule.Parse(text, number, out var error) ?? throw new InvalidOperationException(error));
            }
        }

        var aggregator = new GraphiteAggregator(rules, maxIntervals: 5, forwardInputs: false);
        foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            aggregator.Input(parts[0], double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        var output = new StringBuilder();
        aggregator.Compute(now, output, all: true);
        Assert.Empty(errors);
        return [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}

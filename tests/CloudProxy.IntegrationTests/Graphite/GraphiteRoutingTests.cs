using System.Net;
using CloudProxy.Graphite;
using CloudProxy.Host;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>A routes file in the forwarder: points reach the listener of their group, rewritten, or are dropped and counted.</summary>
public sealed class GraphiteRoutingTests : IAsyncLifetime
{
    private readonly TcpLineSink _web = new();
    private readonly TcpLineSink _other = new();
    private readonly string _rules = Path.GetTempFileName();
    private RunningHost _host = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_rules, $"""
            cluster web forward 127.0.0.1:{_web.Port};
            cluster other forward 127.0.0.1:{_other.Port};
            rewrite ^servers\.([^.]+)\.cpu\.(.*)$ into hosts.\_1.cpu.\2;
            match ^hosts\. send to web stop;
            match ^drop\. send to blackhole;
            match ^both\. send to web other stop;
            match ^app\. ^db\. send to other stop;
            """);
        _host = await RunningHost.StartAsync(
            "--services", "graphite-gateway,graphite-forwarder",
            $"--CloudProxy:Graphite:Forwarder:RoutesFile={_rules}",
            $"--CloudProxy:Graphite:Gateway:AdminToken={GraphiteTestHost.AdminToken}",
            "--CloudProxy:Graphite:Forwarder:MaxBackoffSeconds=0.5");
        _key = await GraphiteTestHost.CreateKeyAsync(_host, "team-a");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _web.DisposeAsync();
        await _other.DisposeAsync();
        File.Delete(_rules);
    }

    [Fact]
    public async Task Points_reach_their_groups_listener_rewritten_and_dropped_ones_are_counted()
    {
        var now = GraphiteTestHost.Now();
        var lines = string.Concat(
            Enumerable.Range(0, 20).Select(i => $"servers.WEB{i}.cpu.user {i} {now}\n")
                .Concat(Enumerable.Range(0, 7).Select(i => $"drop.noise.{i} 1 {now}\n"))
                .Concat(Enumerable.Range(0, 5).Select(i => $"both.{i} 2 {now}\n"))
                .Concat(Enumerable.Range(0, 10).Select(i => $"app.req.{i} 3 {now}\n"))
                .Concat(Enumerable.Range(0, 4).Select(i => $"db.q.{i} 4 {now}\n"))
                .Concat(Enumerable.Range(0, 3).Select(i => $"unrouted.{i} 5 {now}\n")));
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", _key, lines));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.True(await _web.WaitForLinesAsync(25), $"web got {_web.Lines.Count}");
        Assert.True(await _other.WaitForLinesAsync(19), $"other got {_other.Lines.Count}");
        var expectedWeb = Enumerable.Range(0, 20).Select(i => $"hosts.web{i}.cpu.user {i} {now}")
            .Concat(Enumerable.Range(0, 5).Select(i => $"both.{i} 2 {now}"));
        var expectedOther = Enumerable.Range(0, 5).Select(i => $"both.{i} 2 {now}")
            .Concat(Enumerable.Range(0, 10).Select(i => $"app.req.{i} 3 {now}"))
            .Concat(Enumerable.Range(0, 4).Select(i => $"db.q.{i} 4 {now}"));
        Assert.Equal(expectedWeb.Order(StringComparer.Ordinal), _web.Lines.Order(StringComparer.Ordinal));
        Assert.Equal(expectedOther.Order(StringComparer.Ordinal), _other.Lines.Order(StringComparer.Ordinal));

        Assert.Equal(7, await _host.MetricAsync(GraphiteMetricNames.RoutingDropped, ("reason", "blackhole")));
        Assert.Equal(3, await _host.MetricAsync(GraphiteMetricNames.RoutingDropped, ("reason", "no_match")));
        Assert.Equal(20, await _host.MetricAsync(GraphiteMetricNames.RoutingRewritten));

        // Nothing else arrives later (a dropped point is not merely late).
        await Task.Delay(300);
        Assert.Equal(25, _web.Lines.Count);
        Assert.Equal(19, _other.Lines.Count);
    }

    [Theory]
    [InlineData("cluster a forward 127.0.0.1:2003;\nmatch ^a( send to a;\n", "CloudProxy:Graphite:Forwarder:RoutesFile: routes file '", "line 2: match rule 1 (^a()")]
    [InlineData("cluster a forward 127.0.0.1:2003;\nmatch * send to b;\n", "CloudProxy:Graphite:Forwarder:RoutesFile: routes file '", "line 2: match rule 1 (*): cluster b is not defined above it")]
    public async Task A_bad_routes_file_stops_start_up_with_exit_2_naming_the_rule(string text, string setting, string rule)
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, text);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await CloudProxyApp.RunAsync(
                ["--services", "graphite-gateway,graphite-forwarder", "--urls", "http://127.0.0.1:0", $"--CloudProxy:Graphite:Forwarder:RoutesFile={path}"], stdout, stderr);
            Assert.Equal(2, code);
            Assert.Contains(setting, stderr.ToString(), StringComparison.Ordinal);
            Assert.Contains(rule, stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_routes_file_beside_destinations_is_refused()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CloudProxyApp.RunAsync(
            ["--services", "graphite-gateway,graphite-forwarder", "--urls", "http://127.0.0.1:0", $"--CloudProxy:Graphite:Forwarder:RoutesFile={_rules}", "-destinations", "127.0.0.1:2003"], stdout, stderr);
        Assert.Equal(2, code);
        Assert.Contains("RoutesFile defines the destinations in its clusters", stderr.ToString(), StringComparison.Ordinal);
    }
}

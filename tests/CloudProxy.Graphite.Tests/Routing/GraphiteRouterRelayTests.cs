using System.Diagnostics;
using System.Text;
using CloudProxy.Graphite.Routing;
using CloudProxy.Graphite.Tests.Protocol;

namespace CloudProxy.Graphite.Tests.Routing;

/// <summary>
/// The same routes file goes to the real <c>carbon-c-relay -t -f FILE</c> and to our router's dry run, with the
/// same names on standard input: the walks (rules matched, rewritten names, clusters and members, stop, blackhole,
/// "nothing matched") must be the same text.
/// </summary>
public class GraphiteRouterRelayTests
{
    // Only what both implement the same way: the installed relay (3.7.3) has no \g{N} yet, and carbon_ch
    // members are placed by carbon's ring, which walks past taken positions where the relay does not (rare).
    public const string Rules = """
        # destination groups
        cluster web forward 127.0.0.1:2003 127.0.0.1:2004;
        cluster ring fnv1a_ch replication 2 10.0.0.1:2003 10.0.0.2:2003 10.0.0.3:2003=c;
        cluster old carbon_ch 10.1.0.1:2003 10.1.0.2:2003;
        cluster misc forward 10.9.9.9:2003;

        rewrite ^servers\.([^.]+)\.cpu\.(.*)$ into hosts.\_1.cpu.\.2;
        rewrite "^(app)\\.([a-z]+)\\." into \^1.\2-;
        match ^hosts\. send to web stop;
        match ^drop\. send to blackhole;
        match legacy$ ^old\. send to old ring stop;
        match ^sys\.(web|db)[0-9]+\. send to web ring stop;
        match [[:digit:]]{3}$ send to misc;
        match ^APP\. send to ring;
        match ^exact$ send to misc stop;
        match .*\.count$ send to ring old stop;
        match ^APP\. ^stats\. send to misc;
        """;

    [Fact]
    public async Task Our_dry_run_prints_the_same_walks_as_carbon_c_relay_t()
    {
        var names = new List<string>
        {
            "servers.WEB1.cpu.user.x", "servers.db.cpu.a.b.c", "drop.me", "app.web.requests", "app.WEB.x", "some.legacy",
            "old.legacy", "old.thing", "sys.web12.load", "sys.db3.x", "sys.cache1.x", "m.42", "m.123", "exact", "exact.not",
            "a.b.count", "stats.x", "APP.direct", "nomatch",
        };
        for (var i = 0; i < 300; i++)
        {
            names.Add($"servers.Host{i}.cpu.core{i % 7}.idle");
            names.Add($"sys.{(i % 2 == 0 ? "web" : "db")}{i}.cpu");
            names.Add($"app.svc{(char)('a' + (i % 26))}.req.{i}");
            names.Add($"stats.timers.t{i}.count");
            names.Add($"drop.{i}");
        }

        names.AddRange(PlacementNames.Make(2_000, ascii: true).Select(n => n.Replace(' ', '_')));
        var relay = await RelayWalksAsync(Rules, names);

        var errors = new List<string>();
        var config = GraphiteRouteConfig.Parse(Rules, errors);
        Assert.True(config is not null, string.Join('\n', errors));
        var router = new GraphiteRouter(config);
        var ours = new StringBuilder();
        foreach (var name in names)
        {
            router.Describe(name, ours);
        }

        var relayLines = relay.Split('\n');
        var ourLines = ours.ToString().TrimEnd('\n').Split('\n');
        for (var i = 0; i < Math.Min(relayLines.Length, ourLines.Length); i++)
        {
            Assert.True(relayLines[i] == ourLines[i], $"line {i}: relay `{relayLines[i]}`, ours `{ourLines[i]}`\n{string.Join('\n', relayLines.Skip(Math.Max(0, i - 8)).Take(10))}");
        }

        Assert.Equal(relayLines.Length, ourLines.Length);
    }

    /// <summary>Runs the relay in test mode; returns what it prints after its configuration dump.</summary>
    internal static async Task<string> RelayWalksAsync(string rules, IEnumerable<string> names)
    {
        if (!File.Exists(Fnv1aHashRingTests.Relay))
        {
            Assert.Fail($"{Fnv1aHashRingTests.Relay} is missing: apt-get install -y carbon-c-relay");
        }

        var config = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(config, rules);
            var start = new ProcessStartInfo(Fnv1aHashRingTests.Relay) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["-f", config, "-t"])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.StandardInput.WriteAsync(string.Concat(names.Select(n => n + " 1 1\n")));
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var text = (await output).TrimEnd('\n');
            _ = await error;

            // The dump of the parsed configuration ends with a blank line; the walks have none.
            var first = text.LastIndexOf("\n\n", StringComparison.Ordinal);
            Assert.True(first >= 0, $"carbon-c-relay printed no walk: {text[..Math.Min(text.Length, 2000)]}");
            return text[(first + 2)..];
        }

        finally
        {
            File.Delete(config);
        }
    }
}

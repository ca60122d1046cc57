using System.Diagnostics;
using System.Text;
using CloudProxy.Graphite.Protocol;

namespace CloudProxy.Graphite.Tests.Protocol;

/// <summary>Placement is checked against carbon's own Python code (graphite-carbon), run by the test.</summary>
public class CarbonHashRingTests
{
    public const string Python = "/usr/bin/python3";

    public static TheoryData<int, string> DestinationSets => new()
    {
        { 1, "127.0.0.1:2003" },
        { 1, "127.0.0.1:2003:a,127.0.0.1:2004:b,127.0.0.1:2005:c" },
        { 2, "10.0.0.1:2003,10.0.0.2:2003,10.0.0.3:2003,10.0.0.4:2003" },
        { 3, "carbon-a:2004,carbon-b:2004:x,carbon-c:2004,carbon-d:2104:y,carbon-e:2004" },
        // 2,000 ring entries: dozens of position collisions, each moved up as carbon does.
        { 2, string.Join(',', Enumerable.Range(1, 20).Select(i => $"192.168.1.{i}:2003:{(i % 3 == 0 ? "None" : "i" + i)}")) },
    };

    [Theory]
    [MemberData(nameof(DestinationSets))]
    public async Task Carbon_ch_places_ten_thousand_names_where_carbons_ConsistentHashRing_does(int replication, string destinations)
    {
        var names = PlacementNames.Make(10_000, ascii: false);
        var expected = await CarbonPlacementAsync(replication, destinations, names);
        var parsed = destinations.Split(',').Select(d => GraphiteDestination.Parse(d, out _)!).ToArray();
        var ring = new CarbonHashRing(parsed);
        var nodes = new int[replication];
        for (var i = 0; i < names.Length; i++)
        {
            var found = ring.GetNodes(Encoding.UTF8.GetBytes(names[i]), nodes);
            var ours = string.Join(' ', nodes.Take(found).Select(n => $"{parsed[n].Host}:{parsed[n].Port}:{parsed[n].Instance ?? "None"}"));
            Assert.True(expected[i] == ours, $"{names[i]}: carbon {expected[i]}, ours {ours}");
        }
    }

    [Fact]
    public void The_twenty_node_set_really_has_position_collisions()
    {
        var raw = new HashSet<int>();
        var total = 0;
        for (var i = 1; i <= 20; i++)
        {
            var instance = i % 3 == 0 ? "'None'" : $"'i{i}'";
            for (var r = 0; r < CarbonHashRing.Replicas; r++)
            {
                raw.Add(CarbonHashRing.Position(Encoding.UTF8.GetBytes($"('192.168.1.{i}', {instance}):{r}")));
                total++;
            }
        }

        Assert.True(total - raw.Count >= 5, $"only {total - raw.Count} collisions");
    }

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", "\"it's\"")]
    [InlineData("a'b\"c", "'a\\'b\"c'")]
    [InlineData("back\\slash", "'back\\\\slash'")]
    public void Python_repr_quotes_like_python(string value, string repr) => Assert.Equal(repr, CarbonHashRing.PythonRepr(value));

    internal static async Task<string[]> CarbonPlacementAsync(int replication, string destinations, string[] names)
    {
        if (!File.Exists(Python))
        {
            Assert.Fail($"{Python} is missing: apt-get install -y python3 graphite-carbon");
        }

        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Protocol", "carbon_placement.py"));
        start.ArgumentList.Add(replication.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add(destinations);
        start.StandardInputEncoding = new UTF8Encoding(false);
        start.StandardOutputEncoding = Encoding.UTF8;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(string.Join('\n', names) + "\n");
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var stderr = await error;
        Assert.True(process.ExitCode == 0, $"carbon_placement.py failed ({stderr}); is graphite-carbon installed? apt-get install -y graphite-carbon");
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(names.Length, lines.Length);
        return lines;
    }
}

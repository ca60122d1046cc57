using System.Diagnostics;
using System.Text;
using CloudProxy.Graphite.Protocol;

namespace CloudProxy.Graphite.Tests.Protocol;

/// <summary>fnv1a_ch placement is checked against carbon-c-relay itself, in its config test mode (-t).</summary>
public class Fnv1aHashRingTests
{
    public const string Relay = "/usr/bin/carbon-c-relay";

    public static TheoryData<int, string> DestinationSets => new()
    {
        { 1, "127.0.0.1:2003,127.0.0.1:2004" },
        { 2, "127.0.0.1:2003,127.0.0.1:2004,10.0.0.5:2003" },
        { 3, "10.0.0.1:2003,10.0.0.2:2003,10.0.0.3:2003,10.0.0.4:2103,10.0.0.4:2003" },
        { 2, "10.0.0.1:2003:a,10.0.0.2:2003:b,10.0.0.3:2003" },
        // 2,000 ring entries: positions shared by several servers.
        { 2, string.Join(',', Enumerable.Range(1, 20).Select(i => $"192.168.1.{i}:2003")) },
    };

    [Theory]
    [MemberData(nameof(DestinationSets))]
    public async Task Fnv1a_ch_places_ten_thousand_names_where_carbon_c_relay_does(int replication, string destinations)
    {
        var names = PlacementNames.Make(10_000, ascii: true);
        var expected = await RelayPlacementAsync(replication, destinations, names);
        var parsed = destinations.Split(',').Select(d => GraphiteDestination.Parse(d, out _)!).ToArray();
        var ring = new Fnv1aHashRing(parsed);
        var nodes = new int[replication];
        for (var i = 0; i < names.Length; i++)
        {
            var found = ring.GetNodes(Encoding.UTF8.GetBytes(names[i]), nodes);
            var ours = string.Join(' ', nodes.Take(found).Select(n => $"{parsed[n].Host}:{parsed[n].Port}"));
            Assert.True(expected[i] == ours, $"{names[i]}: relay {expected[i]}, ours {ours}");
        }
    }

    /// <summary>The relay spells an instance <c>host:port=instance</c> and prints destinations as host:port.</summary>
    private static string RelaySyntax(string destination)
    {
        var parts = destination.Split(':');
        return parts.Length == 3 ? $"{parts[0]}:{parts[1]}={parts[2]}" : destination;
    }

    private static async Task<string[]> RelayPlacementAsync(int replication, string destinations, string[] names)
    {
        if (!File.Exists(Relay))
        {
            Assert.Fail($"{Relay} is missing: apt-get install -y carbon-c-relay");
        }

        var config = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(config,
                $"cluster c fnv1a_ch replication {replication} {string.Join(' ', destinations.Split(',').Select(RelaySyntax))};\nmatch * send to c stop;\n");
            var start = new ProcessStartInfo(Relay) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
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
            var text = await output + await error;

            // Each metric prints "* -> name", "fnv1a_ch(c)", then one indented destination per line, then "stop".
            var result = new List<string>();
            List<string>? current = null;
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith("fnv1a_ch(", StringComparison.Ordinal))
                {
                    current = [];
                }
                else if (current is not null && line == "stop")
                {
                    result.Add(string.Join(' ', current));
                    current = null;
                }
                else if (current is not null && line.Length > 0)
                {
                    current.Add(line);
                }
            }

            Assert.True(result.Count == names.Length, $"carbon-c-relay printed {result.Count} placements for {names.Length} names: {text[..Math.Min(text.Length, 500)]}");
            return [.. result];
        }
        finally
        {
            File.Delete(config);
        }
    }
}

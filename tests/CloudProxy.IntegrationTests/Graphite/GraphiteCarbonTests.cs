using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.Graphite.Protocol;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>Points through the gateway end up in real carbon-cache whisper files with their values and times.</summary>
public sealed class GraphiteCarbonTests
{
    [Fact]
    public async Task Points_posted_by_a_polymur_proxy_are_stored_by_carbon_cache_with_their_values_and_timestamps()
    {
        await using var carbon = await CarbonCacheServer.StartAsync();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{carbon.Port}");
        var key = await GraphiteTestHost.CreateKeyAsync(host, "edge");
        var now = GraphiteTestHost.Now() - 60;
        var expected = new Dictionary<string, List<(long, double)>>();
        var lines = new StringBuilder();
        foreach (var metric in (string[])["edge.web.requests", "edge.db.latency_ms", "edge.cpu.user"])
        {
            expected[metric] = [];
            for (var i = 0; i < 5; i++)
            {
                var value = Math.Round((i * 10.25) - 3, 2);
                expected[metric].Add((now + i, value));
                lines.Append(CultureInfo.InvariantCulture, $"{metric} {value} {now + i}\n");
            }
        }

        var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, lines.ToString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var (metric, points) in expected)
        {
            IReadOnlyList<(long, double)> stored = [];
            var complete = await Eventually.TrueAsync(async () => (stored = await carbon.ReadAsync(metric)).Count == points.Count, TimeSpan.FromSeconds(30));
            Assert.True(complete, $"{metric}: carbon stored {stored.Count} of {points.Count}; carbon said: {carbon.Output}");
            Assert.Equal(points, stored);
        }
    }

    [Fact]
    public async Task Carbon_ch_over_two_carbon_caches_stores_each_metric_where_carbon_would_place_it()
    {
        await using var first = await CarbonCacheServer.StartAsync();
        await using var second = await CarbonCacheServer.StartAsync();
        var destinations = $"127.0.0.1:{first.Port}:a,127.0.0.1:{second.Port}:b";
        await using var host = await GraphiteTestHost.StartAsync(destinations, "-distribution", "hash-route");
        var key = await GraphiteTestHost.CreateKeyAsync(host, "ring");
        var now = GraphiteTestHost.Now() - 30;
        var names = Enumerable.Range(0, 40).Select(i => $"ring.host{i}.load").ToArray();
        var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key,
            string.Concat(names.Select((n, i) => $"{n} {i} {now}\n"))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var ring = new CarbonHashRing([GraphiteDestination.Parse($"127.0.0.1:{first.Port}:a", out _)!, GraphiteDestination.Parse($"127.0.0.1:{second.Port}:b", out _)!]);
        var nodes = new int[1];
        var servers = new[] { first, second };
        for (var i = 0; i < names.Length; i++)
        {
            ring.GetNodes(Encoding.UTF8.GetBytes(names[i]), nodes);
            var owner = servers[nodes[0]];
            var other = servers[1 - nodes[0]];
            Assert.True(await Eventually.TrueAsync(async () => (await owner.ReadAsync(names[i])).Count == 1, TimeSpan.FromSeconds(30)), names[i]);
            Assert.Equal([(now, (double)i)], await owner.ReadAsync(names[i]));
            Assert.Empty(await other.ReadAsync(names[i]));
        }
    }
}

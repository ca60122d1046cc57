using System.Net;
using CloudProxy.Graphite;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>carbon going away under load and coming back: every accepted point arrives (repeats allowed).</summary>
public sealed class GraphiteOutageTests
{
    [Fact]
    public async Task Destination_down_under_load_then_up_every_accepted_point_arrives()
    {
        var port = Loopback.FreeTcpPort();
        var before = new TcpLineSink(port);
        TcpLineSink? after = null;
        var beforeUp = true;
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{port}", "--CloudProxy:Graphite:Forwarder:ReplayPointsPerSecond=50000");
        var key = await GraphiteTestHost.CreateKeyAsync(host, "load");
        var now = GraphiteTestHost.Now() - 100;
        var accepted = new HashSet<string>();
        const int Batches = 120;
        const int Lines = 500;
        try
        {
            for (var b = 0; b < Batches; b++)
            {
                if (b == 40)
                {
                    // carbon goes away mid-stream, with data in flight.
                    await before.DisposeAsync();
                    beforeUp = false;
                }

                if (b == 90)
                {
                    after = new TcpLineSink(port);
                }

                var lines = Enumerable.Range(0, Lines).Select(i => $"load.m{b}.n{i} {i} {now}").ToArray();
                var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, string.Join('\n', lines) + "\n"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    accepted.UnionWith(lines);
                }
            }

            Assert.Equal(Batches * Lines, accepted.Count);
            var arrived = await Eventually.TrueAsync(
                () => accepted.IsSubsetOf(before.Lines.Concat(after!.Lines)), TimeSpan.FromSeconds(60));
            var missing = accepted.Except(before.Lines.Concat(after!.Lines)).Count();
            Assert.True(arrived, $"{missing} of {accepted.Count} accepted points never arrived");
            Assert.True(await host.MetricAsync(GraphiteMetricNames.DestinationSpooled) > 0);
            Assert.True(await host.MetricAsync(GraphiteMetricNames.DestinationReplayed) > 0);
            Assert.Equal(0, await host.MetricAsync(GraphiteMetricNames.DestinationDropped));
            Assert.True(await Eventually.TrueAsync(async () =>
                (await host.Client.GetStringAsync(new Uri("/_status", UriKind.Relative))).Contains("\"graphite_destination_spool_points\":0", StringComparison.Ordinal)));
        }
        finally
        {
            if (beforeUp)
            {
                await before.DisposeAsync();
            }

            if (after is not null)
            {
                await after.DisposeAsync();
            }
        }
    }
}

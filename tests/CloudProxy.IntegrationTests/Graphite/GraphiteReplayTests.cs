using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.Graphite;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>
/// A spool replayed after an outage does not storm carbon: a real carbon-cache counts the points it receives
/// (its own metricsReceived, every two seconds) and no window holds more than the replay budget plus the live
/// traffic sent meanwhile.
/// </summary>
public sealed class GraphiteReplayTests
{
    private const int ReplayRate = 150;
    private const int Interval = 2;
    private const int SpooledBatches = 30;
    private const int BatchPoints = 50;
    private const int LivePoints = 5;

    [Fact]
    public async Task Spool_replay_stays_within_its_rate_at_a_real_carbon_cache_while_live_traffic_continues()
    {
        var port = Loopback.FreeTcpPort();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{port}",
            $"--CloudProxy:Graphite:Forwarder:ReplayPointsPerSecond={ReplayRate}");
        var key = await GraphiteTestHost.CreateKeyAsync(host, "replay");
        var then = GraphiteTestHost.Now() - 3600;

        // carbon is down: every accepted batch goes to the destination's spool.
        for (var b = 0; b < SpooledBatches; b++)
        {
            var lines = string.Concat(Enumerable.Range(0, BatchPoints).Select(i => $"replay.old.m{b}.n{i} {i} {then + b}\n"));
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, lines))).StatusCode);
        }

        const int Spooled = SpooledBatches * BatchPoints;
        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(GraphiteMetricNames.DestinationSpoolPoints) == Spooled, TimeSpan.FromSeconds(30)),
            $"spool holds {await host.MetricAsync(GraphiteMetricNames.DestinationSpoolPoints)} of {Spooled} points");

        await using var carbon = await CarbonCacheServer.StartAsync(port, metricIntervalSeconds: Interval);

        // Live traffic continues while the spool drains: one small batch every 250 ms, bounded in count.
        var live = 0;
        var liveWhileReplaying = 0;
        var past = GraphiteTestHost.Now() - 600; // whisper refuses timestamps in its future
        for (var i = 0; i < 400 && await host.MetricAsync(GraphiteMetricNames.DestinationSpoolPoints) > 0; i++)
        {
            var lines = string.Concat(Enumerable.Range(0, LivePoints).Select(p => $"replay.live.n{p} {live + p} {past + i}\n"));
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, lines))).StatusCode);
            live += LivePoints;
            liveWhileReplaying++;
            await Task.Delay(250);
        }

        Assert.Equal(0, await host.MetricAsync(GraphiteMetricNames.DestinationSpoolPoints));
        // The spool, and the live batches that came before the link had reconnected.
        Assert.True(await host.MetricAsync(GraphiteMetricNames.DestinationReplayed) >= Spooled);

        // carbon counted everything (its own points are not in metricsReceived), and stored the live points.
        IReadOnlyList<(long Timestamp, double Value)> windows = [];
        Assert.True(await Eventually.TrueAsync(async () => (windows = await carbon.ReceivedPerIntervalAsync()).Sum(w => w.Value) >= Spooled + live, TimeSpan.FromSeconds(60)),
            $"carbon counted {windows.Sum(w => w.Value)} of {Spooled + live} points; carbon said: {carbon.Output}");
        Assert.True(await Eventually.TrueAsync(async () => (await carbon.ReadAsync("replay.live.n0")).Count == liveWhileReplaying, TimeSpan.FromSeconds(30)));

        // Per window: the replay budget (rate x interval, plus one second of burst the bucket may hold), the live
        // points of that window, and 50% slack for a slow machine. Without the limit the whole spool (1,500
        // points) lands in one or two windows.
        var livePerWindow = LivePoints * (Interval * 4);
        var bound = ((ReplayRate * (Interval + 1)) + livePerWindow) * 1.5;
        var report = string.Join(", ", windows.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Timestamp}:{w.Value}")));
        Assert.True(windows.Max(w => w.Value) <= bound, $"a {Interval}s window at carbon held more than {bound} points: {report}");
        Assert.True(liveWhileReplaying >= 3, $"the spool drained after {liveWhileReplaying} live batches: {report}");
    }
}

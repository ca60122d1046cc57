using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite.Forwarder;
using CloudProxy.Graphite.Protocol;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Tests.Forwarder;

/// <summary>The forwarder against real TCP listeners on 127.0.0.1.</summary>
public sealed class GraphiteForwarderTests : IDisposable
{
    private readonly string _spool = Directory.CreateTempSubdirectory("cloudproxy-graphite-fwd-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_spool, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private GraphiteForwarder Create(string destinations, string distribution = "broadcast", int replication = 1)
    {
        var options = new GraphiteOptions();
        options.Forwarder.Destinations = destinations;
        options.Forwarder.Distribution = distribution;
        options.Forwarder.ReplicationFactor = replication;
        options.Forwarder.SpoolDirectory = _spool;
        options.Forwarder.MaxBackoffSeconds = 0.2;
        var registry = Metrics.NewCustomRegistry();
        return new GraphiteForwarder(Options.Create(options), new GraphiteForwarderMetrics(Metrics.WithCustomRegistry(registry)),
            registry, TimeProvider.System, NullLogger<GraphiteForwarder>.Instance);
    }

    private static Envelope Lines(IEnumerable<string> lines, string kind = GraphiteForwarder.LinesKind) => new()
    {
        Topic = "graphite",
        Kind = kind,
        Payload = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))),
    };

    private static async Task<DeliveryOutcome[]> HandleAsync(GraphiteForwarder forwarder, params Envelope[] batch)
    {
        var outcomes = new DeliveryOutcome[batch.Length];
        await forwarder.HandleAsync(batch, outcomes, CancellationToken.None);
        return outcomes;
    }

    [Fact]
    public async Task Broadcast_sends_every_line_to_every_destination()
    {
        await using var a = new TcpLineSink();
        await using var b = new TcpLineSink();
        using var forwarder = Create($"127.0.0.1:{a.Port},127.0.0.1:{b.Port}");
        await forwarder.StartAsync(CancellationToken.None);
        var lines = Enumerable.Range(0, 50).Select(i => $"m.{i} {i} 1700000000").ToArray();
        Assert.Equal([DeliveryOutcome.Success], await HandleAsync(forwarder, Lines(lines)));
        Assert.True(await a.WaitForLinesAsync(50) && await b.WaitForLinesAsync(50));
        Assert.Equal(lines.Order(), a.Lines.Order());
        Assert.Equal(lines.Order(), b.Lines.Order());
        await forwarder.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("carbon_ch")]
    [InlineData("fnv1a_ch")]
    public async Task A_hash_ring_sends_each_line_to_its_replication_factor_of_destinations_the_ring_picks(string distribution)
    {
        await using var a = new TcpLineSink();
        await using var b = new TcpLineSink();
        await using var c = new TcpLineSink();
        var sinks = new[] { a, b, c };
        var destinations = sinks.Select(s => GraphiteDestination.Parse($"127.0.0.1:{s.Port}:{s.Port}", out _)!).ToArray();
        using var forwarder = Create(string.Join(',', destinations.Select(d => d.Name)), distribution, replication: 2);
        await forwarder.StartAsync(CancellationToken.None);
        var names = Enumerable.Range(0, 300).Select(i => $"svc.host{i}.cpu").ToArray();
        await HandleAsync(forwarder, Lines(names.Select(n => $"{n} 1 1700000000")));

        IGraphiteRing ring = distribution == "carbon_ch" ? new CarbonHashRing(destinations) : new Fnv1aHashRing(destinations);
        var expected = sinks.Select(_ => new List<string>()).ToArray();
        var nodes = new int[2];
        foreach (var name in names)
        {
            Assert.Equal(2, ring.GetNodes(Encoding.UTF8.GetBytes(name), nodes));
            expected[nodes[0]].Add($"{name} 1 1700000000");
            expected[nodes[1]].Add($"{name} 1 1700000000");
        }

        for (var i = 0; i < sinks.Length; i++)
        {
            Assert.True(await sinks[i].WaitForLinesAsync(expected[i].Count));
            Assert.Equal(expected[i].Order(), sinks[i].Lines.Order());
        }

        await forwarder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Points_for_a_destination_that_is_down_are_spooled_and_replayed_when_it_comes_up()
    {
        var port = Loopback.FreeTcpPort();
        using var forwarder = Create($"127.0.0.1:{port}");
        await forwarder.StartAsync(CancellationToken.None);
        var link = forwarder.Links[0];
        Assert.True(await Eventually.TrueAsync(() => !link.Connected && link.SpooledPoints == 0));
        var lines = Enumerable.Range(0, 1000).Select(i => $"down.{i} {i} 1700000000").ToArray();
        foreach (var chunk in lines.Chunk(100))
        {
            Assert.Equal([DeliveryOutcome.Success], await HandleAsync(forwarder, Lines(chunk)));
        }

        Assert.True(await Eventually.TrueAsync(() => link.SpooledPoints == 1000));
        await using var sink = new TcpLineSink(port);
        Assert.True(await sink.WaitForLinesAsync(1000));
        Assert.Equal(lines.Order(), sink.Lines.Order());
        Assert.True(await Eventually.TrueAsync(() => link.SpooledPoints == 0));
        await forwarder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Spooled_points_survive_a_restart_and_are_replayed_by_the_next_forwarder()
    {
        var port = Loopback.FreeTcpPort();
        using (var first = Create($"127.0.0.1:{port}"))
        {
            await first.StartAsync(CancellationToken.None);
            await HandleAsync(first, Lines(["kept.a 1 1700000000", "kept.b 2 1700000000"]));
            Assert.True(await Eventually.TrueAsync(() => first.Links[0].SpooledPoints == 2));
            await first.StopAsync(CancellationToken.None);
        }

        await using var sink = new TcpLineSink(port);
        using var second = Create($"127.0.0.1:{port}");
        await second.StartAsync(CancellationToken.None);
        Assert.True(await sink.WaitForLinesAsync(2));
        Assert.Equal(["kept.a 1 1700000000", "kept.b 2 1700000000"], sink.Lines.Order());
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task What_a_carbon_that_reset_the_connection_never_read_is_sent_again()
    {
        // A "carbon" that accepts, reads nothing, then resets: what sat in its socket buffer is gone.
        var port = Loopback.FreeTcpPort();
        var stalled = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        stalled.Start();
        using var forwarder = Create($"127.0.0.1:{port}");
        await forwarder.StartAsync(CancellationToken.None);
        using var accepted = await stalled.AcceptSocketAsync();
        var lines = Enumerable.Range(0, 2000).Select(i => $"unread.{i} {i} 1700000000").ToArray();
        foreach (var chunk in lines.Chunk(100))
        {
            await HandleAsync(forwarder, Lines(chunk));
        }

        Assert.True(await Eventually.TrueAsync(() => forwarder.Links[0].QueuedPoints == 0));
        Assert.True(await Eventually.TrueAsync(() => accepted.Available > 0));

        accepted.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        accepted.Close();
        stalled.Stop();
        await using var sink = new TcpLineSink(port);
        Assert.True(await sink.WaitForLinesAsync(2000), $"{sink.Lines.Count} of 2000 arrived after the reset");
        Assert.Equal(lines.Order(), sink.Lines.Distinct().Order());
        await forwarder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task An_envelope_of_another_kind_is_dropped()
    {
        await using var sink = new TcpLineSink();
        using var forwarder = Create($"127.0.0.1:{sink.Port}");
        Assert.Equal([DeliveryOutcome.Drop], await HandleAsync(forwarder, Lines(["x 1 1"], kind: "statsd.lines")));
    }
}

using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.StatsD.Forwarder;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.StatsD.Tests.Forwarder;

public sealed class StatsDForwarderTests : IDisposable
{
    private readonly UdpSink _udp = new();

    public void Dispose() => _udp.Dispose();

    private static (StatsDForwarder Forwarder, StatsDForwarderMetrics Metrics) Create(int port, StatsDForwarderProtocol protocol = StatsDForwarderProtocol.Udp, int maxDatagram = 1432)
    {
        var options = new StatsDOptions { Topic = "statsd" };
        options.Forwarder.Host = "127.0.0.1";
        options.Forwarder.Port = port;
        options.Forwarder.Protocol = protocol;
        options.Forwarder.MaxDatagramBytes = maxDatagram;
        var metrics = new StatsDForwarderMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), protocol);
        return (new StatsDForwarder(Options.Create(options), metrics, NullLogger<StatsDForwarder>.Instance), metrics);
    }

    private static Envelope Lines(string lines, string kind = StatsDForwarder.LinesKind) =>
        new() { Topic = "statsd", Kind = kind, Payload = Encoding.UTF8.GetBytes(lines) };

    private static async Task<DeliveryOutcome[]> Handle(StatsDForwarder forwarder, params Envelope[] batch)
    {
        var outcomes = new DeliveryOutcome[batch.Length];
        await forwarder.HandleAsync(batch, outcomes, CancellationToken.None);
        return outcomes;
    }

    private List<string> Received() => [.. _udp.Datagrams.Select(d => Encoding.UTF8.GetString(d))];

    [Fact]
    public async Task Lines_of_one_envelope_arrive_in_one_datagram()
    {
        var (forwarder, metrics) = Create(_udp.Port);
        await using var _ = forwarder;
        var outcomes = await Handle(forwarder, Lines("a.b:1|c\nt:320|ms|@0.5\n"));
        Assert.Equal([DeliveryOutcome.Success], outcomes);
        Assert.True(await Eventually.TrueAsync(() => !_udp.Datagrams.IsEmpty));
        Assert.Equal(["a.b:1|c\nt:320|ms|@0.5"], Received());
        Assert.Equal(2, metrics.LinesSent.Value);
        Assert.Equal(1, metrics.DatagramsSent.Value);
        Assert.Equal(21, metrics.BytesSent.Value);
    }

    [Fact]
    public async Task Lines_of_a_batch_are_packed_into_datagrams_no_larger_than_the_limit()
    {
        var (forwarder, metrics) = Create(_udp.Port, maxDatagram: 64);
        await using var _ = forwarder;

        // Each line is 15 bytes: four lines and three separators make 63, the fifth does not fit.
        var batch = Enumerable.Range(0, 10).Select(i => Lines($"metric.{i:D2}:1|c\n")).ToArray();
        var outcomes = await Handle(forwarder, batch);
        Assert.All(outcomes, o => Assert.Equal(DeliveryOutcome.Success, o));
        Assert.True(await Eventually.TrueAsync(() => _udp.Datagrams.Count >= 3));
        Assert.Equal(
            [
                "metric.00:1|c\nmetric.01:1|c\nmetric.02:1|c\nmetric.03:1|c",
                "metric.04:1|c\nmetric.05:1|c\nmetric.06:1|c\nmetric.07:1|c",
                "metric.08:1|c\nmetric.09:1|c",
            ],
            Received());
        Assert.Equal(3, metrics.DatagramsSent.Value);
        Assert.Equal(10, metrics.LinesSent.Value);
    }

    [Fact]
    public async Task Line_longer_than_the_limit_is_sent_alone_and_counted()
    {
        var (forwarder, metrics) = Create(_udp.Port, maxDatagram: 64);
        await using var _ = forwarder;
        var longLine = new string('k', 80) + ":1|c";
        await Handle(forwarder, Lines($"a:1|c\n{longLine}\nb:1|c\n"));
        Assert.True(await Eventually.TrueAsync(() => _udp.Datagrams.Count >= 3));
        Assert.Equal(["a:1|c", longLine, "b:1|c"], Received());
        Assert.Equal(1, metrics.OversizeLines.Value);
    }

    [Fact]
    public async Task Envelope_of_another_kind_is_dropped_and_counted_while_the_rest_is_sent()
    {
        var (forwarder, metrics) = Create(_udp.Port);
        await using var _ = forwarder;
        var outcomes = await Handle(forwarder, Lines("a:1|c\n"), Lines("{\"event\":1}", "sentry.envelope"), Lines("b:1|c\n"));
        Assert.Equal([DeliveryOutcome.Success, DeliveryOutcome.Drop, DeliveryOutcome.Success], outcomes);
        Assert.True(await Eventually.TrueAsync(() => !_udp.Datagrams.IsEmpty));
        Assert.Equal(["a:1|c\nb:1|c"], Received());
        Assert.Equal(1, metrics.UnknownKind.Value);
    }

    [Fact]
    public async Task StatsD_down_over_UDP_turns_into_retries_and_counted_errors_never_exceptions()
    {
        int closedPort;
        using (var probe = new UdpSink())
        {
            closedPort = probe.Port;
        }

        var (forwarder, metrics) = Create(closedPort);
        await using var _ = forwarder;

        // The first datagram leaves; the kernel's ICMP port-unreachable fails a following send.
        var sawRetry = await Eventually.TrueAsync(async () => (await Handle(forwarder, Lines("a:1|c\n"))).Contains(DeliveryOutcome.Retry), TimeSpan.FromSeconds(10));
        Assert.True(sawRetry);
        Assert.True(metrics.SendErrors.Value >= 1);
    }

    [Fact]
    public async Task Lines_reach_a_TCP_listener_newline_terminated()
    {
        await using var tcp = new TcpLineSink();
        var (forwarder, metrics) = Create(tcp.Port, StatsDForwarderProtocol.Tcp);
        await using var _ = forwarder;
        var outcomes = await Handle(forwarder, Lines("a:1|c\nb:2|g\n"), Lines("c:3|ms\n"));
        Assert.Equal([DeliveryOutcome.Success, DeliveryOutcome.Success], outcomes);
        Assert.True(await tcp.WaitForLinesAsync(3));
        Assert.Equal(["a:1|c", "b:2|g", "c:3|ms"], tcp.Lines);
        Assert.Equal(3, metrics.LinesSent.Value);
        Assert.Equal(1, tcp.Connections);

        await Handle(forwarder, Lines("d:4|c\n"));
        Assert.True(await tcp.WaitForLinesAsync(4));
        Assert.Equal(1, tcp.Connections);
    }

    [Fact]
    public async Task TCP_listener_down_means_retry_then_delivery_once_it_is_back()
    {
        var port = Loopback.FreeTcpPort();
        var (forwarder, metrics) = Create(port, StatsDForwarderProtocol.Tcp);
        await using var _ = forwarder;
        Assert.Equal([DeliveryOutcome.Retry], await Handle(forwarder, Lines("a:1|c\n")));
        Assert.Equal(1, metrics.SendErrors.Value);

        await using var tcp = new TcpLineSink(port);
        Assert.Equal([DeliveryOutcome.Success], await Handle(forwarder, Lines("a:1|c\n")));
        Assert.True(await tcp.WaitForLinesAsync(1));
        Assert.Equal(["a:1|c"], tcp.Lines);
    }

    [Fact]
    public async Task TCP_connection_is_reopened_after_the_listener_restarts()
    {
        var port = Loopback.FreeTcpPort();
        var (forwarder, _) = Create(port, StatsDForwarderProtocol.Tcp);
        await using var __ = forwarder;
        await using (var first = new TcpLineSink(port))
        {
            await Handle(forwarder, Lines("before:1|c\n"));
            Assert.True(await first.WaitForLinesAsync(1));
        }

        await using var second = new TcpLineSink(port);

        // The dead connection is noticed before the write (or fails it and is retried); within a bounded
        // number of attempts the line arrives over a new connection.
        var delivered = await Eventually.TrueAsync(async () =>
            (await Handle(forwarder, Lines("after:1|c\n")))[0] == DeliveryOutcome.Success && await second.WaitForLinesAsync(1, TimeSpan.FromSeconds(1)));
        Assert.True(delivered);
        Assert.Contains("after:1|c", second.Lines);
    }
}

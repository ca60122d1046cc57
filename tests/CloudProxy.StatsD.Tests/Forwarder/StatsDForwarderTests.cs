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

    private readonly KeptDeferrals _kept = new();

    private (StatsDForwarder Forwarder, StatsDForwarderMetrics Metrics) Create(
        int port, StatsDForwarderProtocol protocol = StatsDForwarderProtocol.Udp, int maxDatagram = 1432, double probeSeconds = 1)
    {
        var options = new StatsDOptions { Topic = "statsd" };
        options.Forwarder.Host = "127.0.0.1";
        options.Forwarder.Port = port;
        options.Forwarder.Protocol = protocol;
        options.Forwarder.MaxDatagramBytes = maxDatagram;
        options.Forwarder.UdpConfirmMilliseconds = 100;
        options.Forwarder.ProbeIntervalSeconds = probeSeconds;
        var metrics = new StatsDForwarderMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), protocol);
        return (new StatsDForwarder(Options.Create(options), metrics, _kept, TimeProvider.System, NullLogger<StatsDForwarder>.Instance), metrics);
    }

    /// <summary>Core's deferral log, as far as these tests need it: it keeps what the forwarder hands it.</summary>
    private sealed class KeptDeferrals : CloudProxy.Core.Delivery.IDeferrals
    {
        public System.Collections.Concurrent.ConcurrentQueue<Envelope> Envelopes { get; } = new();

        public IEnumerable<string> Texts => Envelopes.Select(e => Encoding.UTF8.GetString(e.Payload.Span));

        public ValueTask<bool> DeferAsync(Envelope envelope)
        {
            Envelopes.Enqueue(envelope);
            return ValueTask.FromResult(true);
        }
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
    public async Task StatsD_down_over_UDP_turns_into_unavailable_and_counted_errors_never_exceptions()
    {
        int closedPort;
        using (var probe = new UdpSink())
        {
            closedPort = probe.Port;
        }

        var (forwarder, metrics) = Create(closedPort);
        await using var _ = forwarder;

        // The first datagram leaves; the kernel's ICMP port-unreachable fails a following send.
        var sawDown = await Eventually.TrueAsync(async () => (await Handle(forwarder, Lines("a:1|c\n"))).Contains(DeliveryOutcome.Unavailable), TimeSpan.FromSeconds(10));
        Assert.True(sawDown);
        Assert.True(metrics.SendErrors.Value >= 1);
        Assert.Equal(1, metrics.DaemonDown.Value);
    }

    [Fact]
    public async Task Over_UDP_on_loopback_a_batch_to_a_closed_port_is_known_lost_before_it_is_answered()
    {
        int closedPort;
        using (var probe = new UdpSink())
        {
            closedPort = probe.Port;
        }

        var (forwarder, metrics) = Create(closedPort);
        await using var _ = forwarder;

        // The ICMP port unreachable is on the socket by the time send returns: the batch is not answered Success.
        Assert.Equal([DeliveryOutcome.Unavailable], await Handle(forwarder, Lines("lost:1|c\n")));
        Assert.Equal(1, metrics.DaemonDown.Value);
        Assert.Equal(0, metrics.LinesDelivered.Value);

        // While down nothing is sent into the void: answered at once, no datagram, no error.
        var errors = metrics.SendErrors.Value;
        var datagrams = metrics.DatagramsSent.Value;
        Assert.Equal([DeliveryOutcome.Unavailable], await Handle(forwarder, Lines("held:1|c\n")));
        Assert.Equal(errors, metrics.SendErrors.Value);
        Assert.Equal(datagrams, metrics.DatagramsSent.Value);
    }

    [Fact]
    public void The_UDP_window_confirms_what_was_sent_long_enough_before_a_clean_check_and_gives_back_the_rest()
    {
        var window = new StatsDUdpWindow(TimeSpan.FromMilliseconds(200), maxBytes: 1024 * 1024);
        var t0 = TimeSpan.FromSeconds(10).Ticks;
        window.Sent(Lines("a:1|c\n"), 1, t0);
        window.Sent(Lines("b:1|c\nc:1|c\n"), 2, t0 + TimeSpan.FromMilliseconds(150).Ticks);

        // A check 100 ms after the first send confirms nothing: an ICMP for it might still be on its way.
        Assert.Equal(0, window.Confirm(t0 + TimeSpan.FromMilliseconds(100).Ticks));

        // 250 ms after: the first is confirmed; the second (sent 100 ms before the check) is not yet.
        Assert.Equal(1, window.Confirm(t0 + TimeSpan.FromMilliseconds(250).Ticks));

        // An error found now: what is left is to be sent again.
        var suspects = window.TakeAll();
        Assert.Equal(["b:1|c\nc:1|c\n"], suspects.Select(s => Encoding.UTF8.GetString(s.Envelope.Payload.Span)));
        Assert.Equal(2, suspects[0].Lines);
        Assert.Equal(0, window.Count);
    }

    [Fact]
    public void The_UDP_window_past_its_bound_lets_the_oldest_go_unchecked_and_says_how_many_lines()
    {
        var window = new StatsDUdpWindow(TimeSpan.FromMilliseconds(200), maxBytes: 100);
        Assert.Equal(0, window.Sent(Lines(new string('a', 60) + ":1|c\n"), 1, 1));
        Assert.Equal(1, window.Sent(Lines(new string('b', 60) + ":1|c\n"), 1, 2));
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public async Task Over_UDP_lines_count_as_delivered_only_once_no_error_came_back_for_them()
    {
        var (forwarder, metrics) = Create(_udp.Port);
        await using var _ = forwarder;
        Assert.Equal([DeliveryOutcome.Success], await Handle(forwarder, Lines("a:1|c\nb:1|c\n")));
        Assert.Equal(2, metrics.LinesSent.Value);

        // The background check confirms them once the confirmation delay has passed without an ICMP error.
        Assert.True(await Eventually.TrueAsync(() => metrics.LinesDelivered.Value == 2));
        Assert.Empty(_kept.Envelopes);
    }

    [Fact]
    public async Task Over_UDP_a_daemon_that_comes_back_is_found_by_the_probe_and_gets_the_lines()
    {
        int port;
        using (var probe = new UdpSink())
        {
            port = probe.Port;
        }

        var (forwarder, metrics) = Create(port, probeSeconds: 0.2);
        await using var _ = forwarder;
        await Handle(forwarder, Lines("first:1|c\n"));
        Assert.True(await Eventually.TrueAsync(async () => (await Handle(forwarder, Lines("x:1|c\n")))[0] == DeliveryOutcome.Unavailable));

        using var daemon = new UdpSink(port);
        Assert.True(await Eventually.TrueAsync(async () => (await Handle(forwarder, Lines("back:1|c\n")))[0] == DeliveryOutcome.Success));
        Assert.True(await daemon.WaitForLinesAsync(1));
        Assert.Contains("back:1|c", daemon.Lines);
        Assert.Equal(0, metrics.DaemonDown.Value);
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
    public async Task TCP_listener_down_means_unavailable_then_delivery_once_it_is_back()
    {
        var port = Loopback.FreeTcpPort();
        var (forwarder, metrics) = Create(port, StatsDForwarderProtocol.Tcp);
        await using var _ = forwarder;
        Assert.Equal([DeliveryOutcome.Unavailable], await Handle(forwarder, Lines("a:1|c\n")));
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

using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.IntegrationTests.Graphite;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Faults;

/// <summary>
/// The fault suite of issue 11: bounded load against the real host as its own process, SIGKILL at random moments
/// (at least five, some while a backlog is being replayed), a new process on the same data directory, and then
/// the count at the real listener: every request answered 2xx arrives, and the copies that arrive more than
/// once are no more than the processes counted as possible duplicates.
/// </summary>
[Collection(FaultSuite.Name)]
public sealed class KillTests(ITestOutputHelper output)
{
    private const int Kills = 5;
    private static readonly string[] NoModuleCounters = [];

    [Fact]
    public async Task StatsD_over_TCP_loses_nothing_it_accepted_when_killed_under_load()
    {
        var seed = Seed();
        // A daemon slower than the load, so that accepted lines are always waiting somewhere when the kill comes.
        await using var statsd = new TcpLineSink(receiveBuffer: 4096) { LinesPerSecond = 5000 };
        await using var host = await KilledHost.StartAsync(null, [StatsDMetricNames.LinesResent], StatsD(statsd.Port, "Tcp"));

        // Long names: more than the kernel's socket buffers hold, so the backlog is in the process when it dies.
        var load = FaultLoad.DriveAsync(host, 1000, 8, (process, i) => PostBatchAsync(process, $"fault.tcp.{new string('x', 80)}.b{i}"));
        await host.KillRepeatedlyAsync(Kills, new Random(seed));
        var batches = await load;
        statsd.LinesPerSecond = 0;

        await AssertAllArrivedAsync(host, Lines(batches), () => statsd.Lines.Select(Name), seed, envelopeOf: Batch);
    }

    [Fact]
    public async Task StatsD_over_UDP_with_the_daemon_down_then_up_loses_nothing_across_kills()
    {
        var seed = Seed();
        var random = new Random(seed);
        int port;
        using (var probe = new UdpSink())
        {
            port = probe.Port;
        }

        await using var host = await KilledHost.StartAsync(null, [StatsDMetricNames.LinesResent], StatsD(port, "Udp"));

        // Down: everything accepted waits in the log, across kills.
        var accepted = await DriveWhileKillingAsync(host, 1500, random, (process, i) => PostCountAsync(process, $"fault.udp.m{i}"));

        // Up: the backlog is sent, and killed again while it is.
        using var daemon = new UdpSink(port);
        await Task.Delay(random.Next(100, 600));
        await host.KillAndRestartAsync();
        await Task.Delay(random.Next(100, 600));
        await host.KillAndRestartAsync();

        await AssertAllArrivedAsync(host, accepted, () => daemon.Lines.Select(Name), seed);
    }

    [Fact]
    public async Task Sentry_with_one_of_two_upstreams_down_loses_nothing_across_kills_and_the_other_keeps_receiving()
    {
        var seed = Seed();
        var random = new Random(seed);
        await using var a = await SentryUpstreamSink.StartAsync();
        await using var b = await SentryUpstreamSink.StartAsync();
        await b.StopAsync();
        await using var host = await KilledHost.StartAsync(null, ["cloudproxy_sentry_upstream_duplicates_total"], Sentry(a.Url, b.Url));

        // A answers in 50 ms: envelopes wait their turn while the kills come.
        a.Delay = TimeSpan.FromMilliseconds(50);
        var accepted = await DriveWhileKillingAsync(host, 1200, random, SendEventAsync);
        a.Delay = TimeSpan.Zero;

        // While B is down A got every accepted event (some already before the kills were over).
        Assert.True(await Eventually.TrueAsync(() => FaultLoad.Compare(accepted, Ids(a)).Missing.Count == 0, TimeSpan.FromSeconds(60)),
            $"seed {seed}: A is missing {FaultLoad.Compare(accepted, Ids(a)).Missing.Count} of {accepted.Count} while B is down");

        await b.StartAgainAsync();
        await Task.Delay(random.Next(200, 800));
        await host.KillAndRestartAsync();

        await AssertAllArrivedAsync(host, accepted, () => Ids(b), seed, "B");
        var (missing, extra) = FaultLoad.Compare(accepted, Ids(a));
        Assert.Empty(missing);
        Assert.True(extra <= await host.DuplicatesCountedAsync(), $"seed {seed}: A got {extra} extra copies, {await host.DuplicatesCountedAsync()} counted");
    }

    [Fact]
    public async Task Sentry_with_a_slow_upstream_loses_nothing_when_killed_with_a_backlog_on_disk()
    {
        var seed = Seed();
        await using var a = await SentryUpstreamSink.StartAsync();
        a.Delay = TimeSpan.FromMilliseconds(300);
        await using var b = await SentryUpstreamSink.StartAsync();
        await using var host = await KilledHost.StartAsync(null, ["cloudproxy_sentry_upstream_duplicates_total"], Sentry(a.Url, b.Url));

        var accepted = await DriveWhileKillingAsync(host, 800, new Random(seed), SendEventAsync);
        a.Delay = TimeSpan.Zero;

        await AssertAllArrivedAsync(host, accepted, () => Ids(a), seed, "A (slow)");
        Assert.Empty(FaultLoad.Compare(accepted, Ids(b)).Missing);
    }

    [Fact]
    public async Task Graphite_carbon_ch_over_two_destinations_loses_nothing_when_killed_under_load()
    {
        var seed = Seed();
        await using var carbonA = new TcpLineSink(receiveBuffer: 4096) { LinesPerSecond = 5000 };
        await using var carbonB = new TcpLineSink(receiveBuffer: 4096) { LinesPerSecond = 5000 };
        await using var host = await KilledHost.StartAsync(null, NoModuleCounters,
            "--services", "graphite-gateway,graphite-forwarder", "-dev-mode", "-distribution", "carbon_ch",
            "-destinations", $"127.0.0.1:{carbonA.Port}:a,127.0.0.1:{carbonB.Port}:b");
        var now = GraphiteTestHost.Now();

        var pad = new string('x', 80);
        var load = FaultLoad.DriveAsync(host, 1000, 4, async (process, i) =>
        {
            var lines = string.Concat(Enumerable.Range(0, 50).Select(j => $"fault.{pad}.b{i}.m{j} {j} {now}\n"));
            using var request = GraphiteTestHost.PolymurRequest("/ingest", "123", lines);
            request.RequestUri = new Uri(process.BaseAddress, "/ingest");
            using var response = await process.Client.SendAsync(request);
            return response.IsSuccessStatusCode ? $"fault.{pad}.b{i}." : null;
        });
        await host.KillRepeatedlyAsync(Kills, new Random(seed));
        var batches = await load;
        carbonA.LinesPerSecond = carbonB.LinesPerSecond = 0;

        // Each accepted batch is 50 points, m0..m49, spread over the two destinations by carbon_ch.
        var expected = batches.SelectMany(prefix => Enumerable.Range(0, 50).Select(j => $"{prefix}m{j}")).ToList();
        await AssertAllArrivedAsync(host, expected, () => carbonA.Lines.Concat(carbonB.Lines).Select(l => l.Split(' ')[0]), seed, envelopeOf: Batch);
    }

    [Fact]
    public async Task StatsD_through_Dapr_over_Redis_loses_nothing_when_ingress_and_forwarder_are_killed()
    {
        var seed = Seed();
        var random = new Random(seed);
        await using var redis = await RedisServer.StartAsync();
        await using var ingressSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "statsd-ingress"));
        // As components/ configure daprd: its delivery retries (about 52 s) outlast a forwarder's restart. (What
        // happens when they do not, daprd giving up and Redis acknowledging, is DaprRedeliveryTests'.)
        await using var forwarderSidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "statsd-forwarder"));
        await using var statsd = new TcpLineSink(receiveBuffer: 4096) { LinesPerSecond = 5000 };
        var forwarderPort = Loopback.FreeTcpPort();
        await using var ingress = await KilledHost.StartAsync(null, NoModuleCounters, [.. ingressSidecar.HostArguments(), "--services", "statsd-ingress"]);
        await using var forwarder = await KilledHost.StartAsync(forwarderPort, [StatsDMetricNames.LinesResent],
            [.. forwarderSidecar.HostArguments(), .. StatsD(statsd.Port, "Tcp"), "--services", "statsd-forwarder", "--CloudProxy:Transport:BulkSubscribeMaxMessages=10"]);
        await forwarderSidecar.SubscribeAppAsync(forwarder.Current.BaseAddress);

        // A slow daemon: the ingress's log and the broker hold a backlog whenever a kill comes.
        var load = FaultLoad.DriveAsync(ingress, 300, 8, (process, i) => PostBatchAsync(process, $"fault.dapr.b{i}"));
        for (var k = 0; k < Kills; k++)
        {
            await Task.Delay(random.Next(300, 1500));
            await (k % 2 == 0 ? forwarder : ingress).KillAndRestartAsync();
        }

        var accepted = Lines(await load);
        statsd.LinesPerSecond = 0;
        var duplicates = async () => await ingress.DuplicatesCountedAsync() + await forwarder.DuplicatesCountedAsync();
        Assert.True(
            await Eventually.TrueAsync(() => FaultLoad.Compare(accepted, statsd.Lines.Select(Name)).Missing.Count == 0, TimeSpan.FromSeconds(90)),
            $"seed {seed}: {FaultLoad.Compare(accepted, statsd.Lines.Select(Name)).Missing.Count} of {accepted.Count} accepted never arrived; " +
            $"deliveries {forwarderSidecar.Deliveries.Count}, statuses {string.Join(",", forwarderSidecar.Deliveries.GroupBy(d => d.Status).Select(g => $"{g.Key}:{g.Count()}"))}");
        var (_, extra) = FaultLoad.Compare(accepted, statsd.Lines.Select(Name), Batch);
        output.WriteLine($"seed {seed}, {ingress.Restarts}+{forwarder.Restarts} kills: accepted {accepted.Count}, lost 0, {extra} duplicates, {await duplicates()} counted");
        Assert.True(extra <= await duplicates(), $"seed {seed}: {extra} extra copies, {await duplicates()} counted");
    }

    private static async Task<IReadOnlyCollection<string>> DriveWhileKillingAsync(KilledHost host, int count, Random random, Func<HostProcess, int, Task<string?>> send)
    {
        var load = FaultLoad.DriveAsync(host, count, 8, send);
        await host.KillRepeatedlyAsync(Kills, random);
        return await load;
    }

    private async Task AssertAllArrivedAsync(
        KilledHost host, IReadOnlyCollection<string> accepted, Func<IEnumerable<string>> received, int seed, string where = "the sink", Func<string, string>? envelopeOf = null)
    {
        Assert.True(accepted.Count > 0, $"seed {seed}: nothing was accepted");
        Assert.True(
            await Eventually.TrueAsync(() => FaultLoad.Compare(accepted, received()).Missing.Count == 0, TimeSpan.FromSeconds(90)),
            $"seed {seed}: {FaultLoad.Compare(accepted, received()).Missing.Count} of {accepted.Count} accepted never reached {where} after {host.Restarts} kills; " +
            $"e.g. {string.Join(", ", FaultLoad.Compare(accepted, received()).Missing.Take(5))}\n{host.Current.Tail(20)}");

        // A copy that would still come arrives within a pump round.
        await Task.Delay(500);
        var (_, extra) = FaultLoad.Compare(accepted, received(), envelopeOf);
        var counted = await host.DuplicatesCountedAsync();
        output.WriteLine($"seed {seed}, {host.Restarts} kills: accepted {accepted.Count}, lost 0 at {where}, {extra} duplicates, {counted} counted as possible duplicates");
        Assert.True(extra <= counted, $"seed {seed}: {extra} copies arrived more than once at {where}, {counted} counted as possible duplicates");
    }

    private static string[] StatsD(int port, string protocol) =>
        ["--services", "statsd-ingress,statsd-forwarder", "--statsd-port", port.ToString(CultureInfo.InvariantCulture),
            $"--CloudProxy:StatsD:Forwarder:Protocol={protocol}", "--CloudProxy:Outbox:MaxBackoffSeconds=0.5",
            "--CloudProxy:StatsD:Forwarder:ProbeIntervalSeconds=0.2"];

    private static string[] Sentry(string a, string b)
    {
        const string u = "--CloudProxy:Sentry:Forwarder:Upstreams";
        return
        [
            "--services", "sentry-ingress,sentry-forwarder",
            $"{u}:0:Name=a", $"{u}:0:Url={a}", $"{u}:1:Name=b", $"{u}:1:Url={b}",
            "--CloudProxy:Outbox:MaxBackoffSeconds=0.5", "--CloudProxy:Deferral:RetryDelaysSeconds=0.5,1,2",
            "--CloudProxy:Sentry:Forwarder:MaxRetries=0",
        ];
    }

    /// <summary>100 lines in one /batch request; the prefix stands for all of them.</summary>
    private static async Task<string?> PostBatchAsync(HostProcess process, string prefix)
    {
        using var body = new StringContent(string.Concat(Enumerable.Range(0, 100).Select(j => $"{prefix}.m{j}:1|c\n")), Encoding.UTF8, "text/plain");
        using var response = await process.Client.PostAsync(new Uri(process.BaseAddress, "/batch"), body);
        return response.StatusCode == HttpStatusCode.OK ? prefix : null;
    }

    private static List<string> Lines(IEnumerable<string> batches) => [.. batches.SelectMany(prefix => Enumerable.Range(0, 100).Select(j => $"{prefix}.m{j}"))];

    private static async Task<string?> PostCountAsync(HostProcess process, string name)
    {
        using var body = new FormUrlEncodedContent([new("value", "1")]);
        using var response = await process.Client.PostAsync(new Uri(process.BaseAddress, $"/count/{name}"), body);
        return response.StatusCode == HttpStatusCode.OK ? name : null;
    }

    private static async Task<string?> SendEventAsync(HostProcess process, int i)
    {
        var id = $"{i:x8}{new string('0', 24)}";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(process.BaseAddress, $"/api/{SentryRig.Project}/envelope/"))
        {
            Content = new StringContent(SentryRig.Envelope(id), Encoding.UTF8, "application/x-sentry-envelope"),
        };
        request.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());
        using var response = await process.Client.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK ? id : null;
    }

    private static IEnumerable<string> Ids(SentryUpstreamSink upstream) =>
        upstream.Received.Select(r => r.BodyText).Select(body => body.Length > 15 ? body.Substring(body.IndexOf("\"event_id\":\"", StringComparison.Ordinal) + 12, 32) : string.Empty);

    /// <summary>The envelope a line came in: its name up to the last <c>.m</c> (each request is one envelope).</summary>
    /// (A line cut short by a kill in the middle of a write has no such part; it stands alone.)
    private static string Batch(string name) => name.LastIndexOf(".m", StringComparison.Ordinal) is var end and > 0 ? name[..end] : name;

    /// <summary>The metric name of a StatsD line (<c>name:1|c</c>).</summary>
    private static string Name(string line) => line.Split(':')[0];

    private static int Seed()
    {
        var seed = Environment.GetEnvironmentVariable("FAULT_SEED") is { } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        return seed;
    }
}

/// <summary>The fault tests start several processes each; they run one at a time, not beside other classes' hosts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultSuite
{
    public const string Name = "fault suite";
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CloudProxy.Graphite;
using CloudProxy.Tests.Common;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>Per-key quotas: 429 + Retry-After on HTTP, other keys unaffected, edits live; the plaintext listener held back, not dropped.</summary>
public sealed class GraphiteQuotaTests(ITestOutputHelper output)
{
    private static string Batch(string metric, long from, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{metric} {i} {from + i}\n")));

    private static Task<HttpResponseMessage> IngestAsync(RunningHost host, string key, string lines) =>
        host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, lines));

    [Fact]
    public async Task A_key_over_its_quota_gets_429_with_Retry_After_while_another_key_flows_and_a_raised_quota_applies_at_once()
    {
        await using var carbon = await CarbonCacheServer.StartAsync();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{carbon.Port}");
        var limited = await GraphiteTestHost.CreateKeyAsync(host, "limited");
        var free = await GraphiteTestHost.CreateKeyAsync(host, "free");
        using var admin = GraphiteTestHost.Admin(host);
        var set = await admin.PostAsync(new Uri("/keys/limited/quota?pointsPerSecond=10&burst=50", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var stored = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((10, 50), (stored.GetProperty("pointsPerSecond").GetDouble(), stored.GetProperty("burst").GetDouble()));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync(new Uri("/keys/limited/quota?pointsPerSecond=0", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync(new Uri("/keys/limited/quota?pointsPerSecond=ten", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync(new Uri("/keys/nobody/quota?pointsPerSecond=1", UriKind.Relative), null)).StatusCode);

        var t = GraphiteTestHost.Now() - 600;

        // The burst (50) goes through; the next 30 points do not, and the answer says when they would.
        Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, limited, Batch("limited.a", t, 50))).StatusCode);
        var refused = await IngestAsync(host, limited, Batch("limited.b", t, 30));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 3);
        Assert.StartsWith("Over Quota: key limited may send 10 points per second (burst 50); this batch of 30 points fits in ",
            await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Meanwhile the other key is not held back at all.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, free, Batch($"free.f{i}", t, 200))).StatusCode);
        }

        // The client that waits as told is accepted.
        await Task.Delay(TimeSpan.FromSeconds(retryAfter));
        Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, limited, Batch("limited.b", t, 30))).StatusCode);

        // An over-quota batch that is never retried: nothing of it may reach carbon.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await IngestAsync(host, limited, Batch("limited.never", t, 30))).StatusCode);

        // Raised on the admin API: the very next batch passes, no restart, no refresh interval.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri("/keys/limited/quota?pointsPerSecond=1000000&burst=1000000", UriKind.Relative), null)).StatusCode);
        var raised = await IngestAsync(host, limited, Batch("limited.d", t, 30));
        Assert.True(raised.StatusCode == HttpStatusCode.OK, await raised.Content.ReadAsStringAsync());

        // Back to a tight quota (the bucket starts full at the new burst of 5), then removed.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri("/keys/limited/quota?pointsPerSecond=1&burst=5", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, limited, Batch("limited.c", t, 5))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await IngestAsync(host, limited, Batch("limited.never", t + 100, 3))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri("/keys/limited/quota", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, limited, Batch("limited.e", t, 300))).StatusCode);

        foreach (var (metric, count) in new[] { ("limited.a", 50), ("limited.b", 30), ("limited.c", 5), ("limited.d", 30), ("limited.e", 300), ("free.f0", 200), ("free.f1", 200), ("free.f2", 200) })
        {
            IReadOnlyList<(long, double)> points = [];
            var complete = await Eventually.TrueAsync(async () => (points = await carbon.ReadAsync(metric)).Count == count, TimeSpan.FromSeconds(30));
            Assert.True(complete, $"{metric}: carbon stored {points.Count} of {count}; carbon said: {carbon.Output}");
        }

        // limited.e was forwarded after both refusals of limited.never (one link, in order) and is stored: so the refused points would be too.
        Assert.Empty(await carbon.ReadAsync("limited.never"));
        Assert.Equal(3, await host.MetricAsync(GraphiteMetricNames.QuotaRefusedBatches, ("key", "limited")));
        Assert.Equal(63, await host.MetricAsync(GraphiteMetricNames.QuotaRefusedPoints, ("key", "limited")));
        Assert.Equal(0, await host.MetricAsync(GraphiteMetricNames.QuotaRefusedBatches, ("key", "free")));
        Assert.Equal(3, await host.MetricAsync(GraphiteMetricNames.Requests, ("endpoint", "ingest"), ("code", "429")));
    }

    [Fact]
    public async Task Over_the_plaintext_quota_the_listener_stops_reading_and_every_line_still_arrives()
    {
        const int rate = 500, lineCount = 3000;
        await using var sink = new TcpLineSink();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{sink.Port}",
            $"--CloudProxy:Graphite:Gateway:PlaintextPointsPerSecond={rate}", $"--CloudProxy:Graphite:Gateway:PlaintextBurst={rate}");
        var now = GraphiteTestHost.Now();

        // 60-byte lines: one 64 KiB read holds at most ~1,100 points.
        var lines = Enumerable.Range(0, lineCount).Select(i => string.Create(CultureInfo.InvariantCulture, $"plaintext.quota.padding-padding-padding.m{i:D5} {i % 10} {now}\n")).ToArray();
        Assert.All(lines, l => Assert.Equal(60, l.Length));
        var maxRead = (64 * 1024 / 60) + 1;

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, GraphiteTestHost.PlaintextPort(host));
        var write = Task.Run(async () =>
        {
            var stream = client.GetStream();
            foreach (var chunk in lines.Chunk(100))
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(string.Concat(chunk)));
            }

            client.Client.Shutdown(SocketShutdown.Send);
        });

        // Count arrivals every 100 ms; any one-second window may hold the rate plus the burst plus one read.
        var samples = new List<(double Seconds, int Count)>();
        var clock = Stopwatch.StartNew();
        while (sink.Lines.Count < lineCount && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            samples.Add((clock.Elapsed.TotalSeconds, sink.Lines.Count));
            await Task.Delay(100);
        }

        samples.Add((clock.Elapsed.TotalSeconds, sink.Lines.Count));
        await write;
        Assert.Equal(lineCount, sink.Lines.Count);
        Assert.Equal(lineCount, sink.Lines.Distinct().Count());
        var worst = 0;
        foreach (var (seconds, count) in samples)
        {
            var later = samples.LastOrDefault(s => s.Seconds <= seconds + 1.0);
            worst = Math.Max(worst, later.Count - count);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{lineCount} lines in {samples[^1].Seconds:F1} s; most in one second: {worst} (bound {rate + rate + maxRead})"));
        Assert.True(worst <= rate + rate + maxRead, $"{worst} lines arrived within one second (bound {rate + rate + maxRead})");
        Assert.True(await host.MetricAsync(GraphiteMetricNames.QuotaWaits, ("key", "_plaintext")) >= 1);
        Assert.True(await host.MetricAsync(GraphiteMetricNames.QuotaWaitedSeconds, ("key", "_plaintext")) > 1);
    }

    [Fact]
    public async Task A_quota_set_with_the_keys_command_is_enforced_by_a_gateway_on_the_same_store()
    {
        var directory = Directory.CreateTempSubdirectory("cloudproxy-quota-").FullName;
        var state = $"--CloudProxy:State:Path={Path.Combine(directory, "state.db")}";
        var created = await RunAsync("keys", "create", "cli-limited", state);
        Assert.Equal(0, created.Code);
        var key = created.Output.Trim().Split(' ')[^1];
        Assert.Equal((0, "Quota of cli-limited: 2 points per second, burst 10\n"),
            Pick(await RunAsync("keys", "set-quota", "cli-limited", "--points-per-second", "2", "--burst", "10", state)));
        Assert.Equal((0, $"cli-limited: {key} (quota 2 points/s, burst 10)\n"), Pick(await RunAsync("keys", "list", "all", state)));
        Assert.Equal(2, (await RunAsync("keys", "set-quota", "cli-limited", "--points-per-second", "lots", state)).Code);
        Assert.Equal(2, (await RunAsync("keys", "set-quota", "cli-limited", state)).Code);
        Assert.Equal(1, (await RunAsync("keys", "set-quota", "cli-limited", "--points-per-second", "-3", state)).Code);
        Assert.Equal(1, (await RunAsync("keys", "set-quota", "nobody", "--points-per-second", "3", state)).Code);

        await using var sink = new TcpLineSink();
        await using (var host = await RunningHost.StartWithSpoolAsync(Path.Combine(directory, "spool"),
            "--services", "graphite-gateway,graphite-forwarder", "-destinations", $"127.0.0.1:{sink.Port}"))
        {
            var t = GraphiteTestHost.Now() - 60;
            Assert.Equal(HttpStatusCode.OK, (await IngestAsync(host, key, Batch("cli.a", t, 10))).StatusCode);
            var refused = await IngestAsync(host, key, Batch("cli.b", t, 10));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture), 4, 5);
            Assert.True(await sink.WaitForLinesAsync(10));
        }

        Assert.Equal((0, "Quota of cli-limited removed\n"), Pick(await RunAsync("keys", "clear-quota", "cli-limited", state)));
        Assert.Equal((0, $"cli-limited: {key}\n"), Pick(await RunAsync("keys", "list", "all", state)));
    }

    private static (int, string) Pick((int Code, string Output, string Error) run) => (run.Code, run.Output);

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CloudProxy.Host.CloudProxyApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

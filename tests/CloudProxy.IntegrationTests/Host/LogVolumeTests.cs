using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.Tests.Common;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// What an operator's disk sees at the default log level: the real executable as its own process, started from
/// another working directory (no appsettings.json), stdout captured. Each scenario runs twice, with 1,000 and with
/// 10,000 requests, and the second run may not write more than a few lines more than the first: nothing is
/// logged per request, per upstream attempt or per refused send. Repeated warnings are rate-limited
/// (LogThrottle: one line per 30 s per kind), so a slower second run may add one line per kind; the slack allows that.
/// </summary>
public class LogVolumeTests(ITestOutputHelper output)
{
    private const int Small = 1_000;
    private const int Large = 10_000;
    private const int Slack = 25;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(120);

    public static TheoryData<string> Scenarios =>
    [
        "statsd", "statsd-tcp-daemon-down", "statsd-refused-503", "sentry", "sentry-upstream-down", "graphite", "graphite-carbon-down",
        // Started in the binary's own folder, where appsettings.json is found: the levels are the same.
        "sentry-from-binary-directory",
    ];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Log_lines_at_the_default_level_do_not_grow_with_the_request_count(string scenario)
    {
        var small = await RunAsync(scenario, Small);
        var large = await RunAsync(scenario, Large);
        output.WriteLine($"{scenario}: {small.Lines} lines for {Small:N0} requests, {large.Lines} lines for {Large:N0} requests ({large.Bytes:N0} bytes) with {ChildHost.Dll}");
        output.WriteLine($"last lines of the {Large:N0} run:\n  " + string.Join("\n  ", large.Tail));
        Assert.True(large.Lines <= small.Lines + Slack,
            $"{scenario}: {large.Lines} log lines for {Large} requests against {small.Lines} for {Small}; the log grows with the request count:\n  "
            + string.Join("\n  ", large.Tail));
    }

    [Fact]
    public async Task Verbose_shows_the_per_request_lines_the_default_leaves_out_even_beside_appsettings_json()
    {
        var data = Directory.CreateTempSubdirectory("cloudproxy-logs-");
        try
        {
            // In the binary's folder appsettings.json is found; --verbose must still win over any level it sets.
            await using var host = ChildHost.Start(
                ["--http-port", "0", "--services", "statsd-ingress,statsd-forwarder", "--data-dir", data.FullName, "--verbose"], Path.GetDirectoryName(ChildHost.Dll));
            using var client = ChildHost.ClientFor(await host.WaitUntilListeningAsync());
            using var response = await client.PostAsync(new Uri("/count/app.clicks", UriKind.Relative), new FormUrlEncodedContent([new("value", "1")]));
            Assert.True(await Eventually.TrueAsync(() => host.Stdout.Any(l => l.Contains("Request finished", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
                "no per-request line from ASP.NET Core's hosting with --verbose:\n" + string.Join('\n', host.Stdout));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private async Task<(int Lines, long Bytes, IReadOnlyList<string> Tail)> RunAsync(string scenario, int requests)
    {
        await using var udp = new DisposableUdpSink();
        await using var carbon = new TcpLineSink();
        await using var sentry = await SentryUpstreamSink.StartAsync();
        var closed = Loopback.FreeTcpPort();
        string[] common = ["--http-port", "0", "--CloudProxy:Outbox:DrainTimeoutSeconds=2"];
        string[] args = scenario switch
        {
            "statsd" => ["--services", "statsd-ingress,statsd-forwarder", "--statsd-host", "127.0.0.1", "--statsd-port", $"{udp.Sink.Port}"],
            "statsd-tcp-daemon-down" => ["--services", "statsd-ingress,statsd-forwarder", "--statsd-port", $"{closed}", "--CloudProxy:StatsD:Forwarder:Protocol=Tcp"],
            "statsd-refused-503" => ["--services", "statsd-ingress,statsd-forwarder", "--statsd-port", $"{closed}", "--CloudProxy:StatsD:Forwarder:Protocol=Tcp",
                "--spool-max-bytes", "1048576", "--CloudProxy:Spool:ReserveShare=0.89"],
            "sentry" or "sentry-from-binary-directory" => ["--services", "sentry-ingress,sentry-forwarder", "--pusher.sentry.host", sentry.Url, "--pusher.sentry.projects", SentryRig.Key],
            "sentry-upstream-down" => ["--services", "sentry-ingress,sentry-forwarder", "--pusher.sentry.host", $"http://127.0.0.1:{closed}", "--pusher.sentry.projects", SentryRig.Key],
            "graphite" => ["--services", "graphite-gateway,graphite-forwarder", "-dev-mode", "-destinations", $"127.0.0.1:{carbon.Port}"],
            "graphite-carbon-down" => ["--services", "graphite-gateway,graphite-forwarder", "-dev-mode", "-destinations", $"127.0.0.1:{closed}"],
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
        };

        var data = Directory.CreateTempSubdirectory("cloudproxy-logs-");
        if (scenario.EndsWith("-from-binary-directory", StringComparison.Ordinal))
        {
            args = [.. args, "--data-dir", data.FullName];
        }

        await using var host = ChildHost.Start([.. common, .. args], scenario.EndsWith("-from-binary-directory", StringComparison.Ordinal) ? Path.GetDirectoryName(ChildHost.Dll) : null);
        var address = await host.WaitUntilListeningAsync();
        using var client = ChildHost.ClientFor(address);
        var statuses = await DriveAsync(client, scenario, requests);
        output.WriteLine($"{scenario} x{requests}: answers {string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"))}");

        // The work each request causes behind the answer (forwarding, failed sends, spooling) is done before the count.
        var settled = scenario switch
        {
            "statsd" => await Eventually.TrueAsync(async () => await ChildHost.MetricAsync(client, "cloudproxy_statsd_lines_sent_total") >= requests, Settle),
            "statsd-tcp-daemon-down" => await Eventually.TrueAsync(async () => await ChildHost.MetricAsync(client, "cloudproxy_statsd_send_errors_total") >= 2, Settle),
            "statsd-refused-503" => statuses.GetValueOrDefault(503) >= requests / 10,
            "sentry" or "sentry-from-binary-directory" => await Eventually.TrueAsync(() => sentry.Attempts >= requests, Settle),
            "sentry-upstream-down" => await Eventually.TrueAsync(async () => await ChildHost.MetricAsync(client, "ogre_sentry_failed_request_total") >= 2, Settle),
            "graphite" => await Eventually.TrueAsync(() => carbon.Lines.Count >= requests, Settle),
            "graphite-carbon-down" => await Eventually.TrueAsync(async () => await ChildHost.MetricAsync(client, "cloudproxy_graphite_destination_spooled_points_total") >= requests, Settle),
            _ => false,
        };
        Assert.True(settled, $"{scenario} x{requests}: the host did not do the work the scenario is about (answers: {string.Join(", ", statuses)})");

        await host.StopAsync();
        data.Delete(recursive: true);
        var lines = host.Stdout;
        return (lines.Count, lines.Sum(l => (long)l.Length + 1), lines.TakeLast(12).ToList());
    }

    /// <summary>Sends <paramref name="count"/> requests, 8 at a time; returns how many got each status.</summary>
    private static async Task<Dictionary<int, int>> DriveAsync(HttpClient client, string scenario, int count)
    {
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = deadline.Token }, async (i, ct) =>
        {
            using var request = scenario switch
            {
                _ when scenario.StartsWith("statsd", StringComparison.Ordinal) => new HttpRequestMessage(HttpMethod.Post, new Uri("/count/app.clicks", UriKind.Relative))
                {
                    Content = new FormUrlEncodedContent([new("value", "1")]),
                },
                _ when scenario.StartsWith("sentry", StringComparison.Ordinal) => SentryEnvelope(),
                _ => GraphiteBatch(i),
            };
            using var response = await client.SendAsync(request, ct);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
        });
        return new Dictionary<int, int>(statuses);
    }

    private static HttpRequestMessage SentryEnvelope()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/{SentryRig.Project}/envelope/", UriKind.Relative))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(SentryRig.Envelope(SentryRig.NewEventId()))),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-sentry-envelope");
        request.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());
        return request;
    }

    private static HttpRequestMessage GraphiteBatch(int i)
    {
        const long timestamp = 1_700_000_000; // within the gateway's accepted age, and never in the future
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/ingest", UriKind.Relative))
        {
            Content = new StringContent(string.Create(CultureInfo.InvariantCulture, $"app.requests.n{i % 100} {i} {timestamp}\n")),
        };
        request.Headers.TryAddWithoutValidation("X-Polymur-Key", "123");
        return request;
    }

    /// <summary><see cref="UdpSink"/> in an await using, beside the other sinks.</summary>
    private sealed class DisposableUdpSink : IAsyncDisposable
    {
        public UdpSink Sink { get; } = new();

        public ValueTask DisposeAsync()
        {
            Sink.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

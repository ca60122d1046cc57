using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// <c>/readyz</c> takes the process out of rotation, with a JSON reason, exactly while it cannot serve (issue 13),
/// and puts it back once it can; <c>/healthz</c> stays about liveness; <c>/_status</c> says "degraded" and why.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task While_the_spool_is_full_and_refusing_it_is_not_ready_and_it_is_ready_again_once_drained()
    {
        var port = Loopback.FreeTcpPort();
        await using var host = await RunningHost.StartAsync(
            "--services", "statsd-ingress,statsd-forwarder", "--statsd-port", port.ToString(CultureInfo.InvariantCulture),
            "--CloudProxy:StatsD:Forwarder:Protocol=Tcp", "--spool-max-bytes", "1048576", "--CloudProxy:Spool:ReserveShare=0.5",
            "--CloudProxy:Health:RefusalWindowSeconds=1", "--CloudProxy:Outbox:MaxBackoffSeconds=0.2");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/readyz"));

        for (var i = 0; i < 100 && await PostBatchAsync(host, i) == HttpStatusCode.OK; i++)
        {
        }

        var (status, reasons) = await ReadyAsync(host);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains(reasons, r => r.Contains("refusing new data", StringComparison.Ordinal) || r.Contains("the spool is full", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/healthz"));
        Assert.Equal("degraded", await StatusFieldAsync(host));

        // Past the refusal window it stays unready: the next batch would not fit either (the log stops a little
        // short of its bound, so "full" cannot mean "at the bound to the byte").
        Assert.True(await Eventually.TrueAsync(async () => (await ReadyAsync(host)).Reasons.Any(r => r.Contains("the spool is full", StringComparison.Ordinal))),
            $"not unready for a full spool once refusals stopped: {string.Join("; ", (await ReadyAsync(host)).Reasons)}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(host, "/readyz"));

        await using var statsd = new TcpLineSink(port);
        Assert.True(await Eventually.TrueAsync(async () => await StatusAsync(host, "/readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(30)),
            $"still not ready after the drain: {string.Join("; ", (await ReadyAsync(host)).Reasons)}");
        Assert.Equal("ok", await StatusFieldAsync(host));
    }

    [Fact]
    public async Task While_the_transport_has_failed_past_the_grace_period_it_is_not_ready_and_it_is_ready_again_once_it_works()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, "statsd-ingress"));
        await sidecar.StopAsync();
        await using var host = await RunningHost.StartAsync(
            [.. sidecar.HostArguments(), "--services", "statsd-ingress", "--CloudProxy:Health:PublishFailureGraceSeconds=1", "--CloudProxy:Outbox:MaxBackoffSeconds=0.2"]);
        Assert.Equal(HttpStatusCode.OK, await PostBatchAsync(host, 0));

        Assert.True(await Eventually.TrueAsync(async () => (await ReadyAsync(host)).Status == HttpStatusCode.ServiceUnavailable), "never unready while the sidecar is gone");
        Assert.Contains((await ReadyAsync(host)).Reasons, r => r.Contains("publishing has failed", StringComparison.Ordinal));

        await sidecar.StartAgainAsync();
        Assert.True(await Eventually.TrueAsync(async () => await StatusAsync(host, "/readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(30)),
            $"still not ready with the sidecar back: {string.Join("; ", (await ReadyAsync(host)).Reasons)}");
    }

    [Fact]
    public async Task Above_the_memory_share_of_its_limit_it_is_not_ready_and_says_why()
    {
        // A share no process can stay under: the condition is on at once, and named.
        await using var host = await RunningHost.StartAsync("--CloudProxy:Health:MaxMemoryShare=0.000001");
        var (status, reasons) = await ReadyAsync(host);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains(reasons, r => r.Contains("MaxMemoryShare", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/healthz"));

        await using var normal = await RunningHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(normal, "/readyz"));
    }

    private static async Task<HttpStatusCode> PostBatchAsync(RunningHost host, int i)
    {
        using var body = new StringContent(string.Concat(Enumerable.Range(0, 2000).Select(j => $"ready.{new string('x', 40)}.b{i}.m{j}:1|c\n")), Encoding.UTF8, "text/plain");
        using var response = await host.Client.PostAsync(new Uri("/batch", UriKind.Relative), body);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> StatusAsync(RunningHost host, string path)
    {
        using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    private static async Task<(HttpStatusCode Status, List<string> Reasons)> ReadyAsync(RunningHost host)
    {
        using var response = await host.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var reasons = json.RootElement.TryGetProperty("reasons", out var list) ? list.EnumerateArray().Select(r => r.GetString()!).ToList() : [];
        return (response.StatusCode, reasons);
    }

    private static async Task<string?> StatusFieldAsync(RunningHost host)
    {
        using var json = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri("/_status", UriKind.Relative)));
        return json.RootElement.GetProperty("status").GetString();
    }
}

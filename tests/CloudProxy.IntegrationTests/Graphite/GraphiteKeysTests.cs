using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudProxy.Graphite;
using CloudProxy.Host;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>API keys: the admin API, the <c>cloudproxy keys</c> commands, the cache outliving a broken store.</summary>
public sealed class GraphiteKeysTests
{
    private static Task<HttpResponseMessage> PingAsync(RunningHost host, string key) =>
        host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ping", key, null));

    [Fact]
    public async Task The_admin_API_refuses_a_missing_or_wrong_token()
    {
        await using var sink = new TcpLineSink();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{sink.Port}");
        foreach (var token in new string?[] { null, "wrong" })
        {
            using var admin = GraphiteTestHost.Admin(host, token);
            var response = await admin.PostAsync(new Uri("/keys/intruder", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var good = GraphiteTestHost.Admin(host);
        Assert.Empty(await good.GetFromJsonAsync<JsonElement[]>(new Uri("/keys", UriKind.Relative)) ?? []);
    }

    [Fact]
    public async Task Keys_created_regenerated_and_deleted_on_the_admin_API_take_effect_at_once()
    {
        await using var sink = new TcpLineSink();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{sink.Port}");
        using var admin = GraphiteTestHost.Admin(host);

        var first = await GraphiteTestHost.CreateKeyAsync(host, "tenant-1");
        Assert.Equal(HttpStatusCode.OK, (await PingAsync(host, first)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync(new Uri("/keys/tenant-1", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync(new Uri("/keys/bad.name", UriKind.Relative), null)).StatusCode);

        var listed = await admin.GetFromJsonAsync<JsonElement[]>(new Uri("/keys?show=all", UriKind.Relative));
        Assert.Equal(first, Assert.Single(listed!).GetProperty("key").GetString());

        var regenerated = await admin.PostAsync(new Uri("/keys/tenant-1/regenerate", UriKind.Relative), null);
        var second = (await regenerated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PingAsync(host, first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PingAsync(host, second)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri("/keys/tenant-1", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PingAsync(host, second)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync(new Uri("/keys/tenant-1", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Keys_made_with_the_keys_command_are_accepted_by_a_gateway_on_the_same_store()
    {
        var directory = Directory.CreateTempSubdirectory("cloudproxy-keys-").FullName;
        var state = $"--CloudProxy:State:Path={Path.Combine(directory, "state.db")}";
        var (code, output, _) = await RunAsync("keys", "create", "cli-team", state);
        Assert.Equal(0, code);
        Assert.StartsWith("Successfully registered cli-team with key ", output, StringComparison.Ordinal);
        var key = output.Trim().Split(' ')[^1];
        var list = await RunAsync("keys", "list", "names", state);
        Assert.Equal((0, "cli-team\n"), (list.Code, list.Output));
        Assert.Equal(1, (await RunAsync("keys", "create", "cli-team", state)).Code);

        await using var sink = new TcpLineSink();
        await using var host = await RunningHost.StartWithSpoolAsync(Path.Combine(directory, "spool"),
            "--services", "graphite-gateway,graphite-forwarder", "-destinations", $"127.0.0.1:{sink.Port}");
        Assert.Equal(HttpStatusCode.OK, (await PingAsync(host, key)).StatusCode);

        Assert.Equal(0, (await RunAsync("keys", "delete", "cli-team", state)).Code);
        var empty = await RunAsync("keys", "list", "all", state);
        Assert.Equal((0, string.Empty), (empty.Code, empty.Output));
        Assert.Equal(2, (await RunAsync("keys", "frobnicate", state)).Code);
    }

    [Fact]
    public async Task When_the_state_store_breaks_the_cached_keys_keep_serving()
    {
        await using var sink = new TcpLineSink();
        await using var host = await GraphiteTestHost.StartAsync($"127.0.0.1:{sink.Port}", "--CloudProxy:Graphite:Gateway:KeyRefreshSeconds=1");
        var key = await GraphiteTestHost.CreateKeyAsync(host, "survivor");

        // Overwrite the embedded store's file in place: every later read fails with "file is not a database".
        var file = Path.Combine(Path.GetDirectoryName(host.SpoolPath)!, "state.db");
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            await stream.WriteAsync(new byte[8192].Select(_ => (byte)0x5A).ToArray());
        }

        foreach (var wal in Directory.GetFiles(Path.GetDirectoryName(file)!, "state.db-*"))
        {
            await File.WriteAllBytesAsync(wal, new byte[4096].Select(_ => (byte)0x5A).ToArray());
        }

        Assert.True(await Eventually.TrueAsync(async () => await host.MetricAsync(GraphiteMetricNames.KeyRefreshFailures) >= 2, TimeSpan.FromSeconds(20)));
        var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, "still.works 1 -1\n"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await sink.WaitForLinesAsync(1));
    }

    [Fact]
    public async Task With_no_destinations_the_gateway_answers_503_instead_of_accepting()
    {
        await using var host = await RunningHost.StartAsync(["--services", "graphite-gateway,graphite-forwarder", "-dev-mode"]);
        var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", "123", "a.b 1 -1\n"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.StartsWith("Gateway Unavailable: no carbon destinations", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_the_spool_is_full_the_gateway_answers_503_with_Retry_After()
    {
        // A gateway whose sidecar cannot be reached: batches stay in its log until the bound.
        await using var host = await RunningHost.StartAsync(
            "--services", "graphite-gateway", "-destinations", "127.0.0.1:1", "-dev-mode",
            "--transport", "dapr", $"--DAPR_GRPC_ENDPOINT=http://127.0.0.1:{Loopback.FreeTcpPort()}",
            "--spool-max-bytes", "1048576", "--CloudProxy:Spool:ReserveShare=0.5");
        var now = GraphiteTestHost.Now();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 40 && refused is null; i++)
        {
            var lines = string.Concat(Enumerable.Range(0, 5000).Select(j => $"full.b{i}.m{j} {j} {now}\n"));
            var response = await host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", "123", lines));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
        Assert.StartsWith("Gateway Busy:", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(await host.MetricAsync(CloudProxy.Core.Metrics.CoreMetricNames.Refused) >= 1);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CloudProxyApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CloudProxy.Graphite;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>The gateway as polymur-proxy and other clients see it, with a real TCP destination.</summary>
public sealed class GraphiteGatewayTests : IAsyncLifetime
{
    private readonly TcpLineSink _carbon = new();
    private RunningHost _host = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _host = await GraphiteTestHost.StartAsync($"127.0.0.1:{_carbon.Port}",
            "--CloudProxy:Graphite:Gateway:MaxBodyBytes=65536", "--CloudProxy:Graphite:Gateway:MaxDecompressedBytes=1048576");
        _key = await GraphiteTestHost.CreateKeyAsync(_host, "team-a");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _carbon.DisposeAsync();
    }

    [Fact]
    public async Task Polymur_proxy_ping_with_a_valid_key_is_answered_key_is_valid()
    {
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ping", _key, null));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("key is valid\n", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/ping")]
    [InlineData("/ingest")]
    public async Task A_wrong_key_is_answered_401_invalid_key(string path)
    {
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest(path, "not-a-key", "a.b 1 -1\n"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid key", await response.Content.ReadAsStringAsync());
        Assert.Empty(_carbon.Lines);
    }

    [Fact]
    public async Task A_polymur_proxy_batch_is_received_and_its_lines_reach_carbon()
    {
        var now = GraphiteTestHost.Now();
        var lines = string.Concat(Enumerable.Range(0, 100).Select(i => $"web.requests.{i} {i}.5 {now}\n"));
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", _key, lines));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Batch Received\n", await response.Content.ReadAsStringAsync());
        Assert.True(await _carbon.WaitForLinesAsync(100));
        Assert.Equal(lines.TrimEnd('\n').Split('\n').Order(), _carbon.Lines.Order());
    }

    [Fact]
    public async Task Gzip_with_Content_Encoding_and_plain_text_bodies_are_accepted_too()
    {
        var now = GraphiteTestHost.Now();
        using var gzip = new HttpRequestMessage(HttpMethod.Post, new Uri("/ingest", UriKind.Relative))
        {
            Content = new ByteArrayContent(GraphiteTestHost.Gzip(Encoding.UTF8.GetBytes($"gz.metric 1 {now}\n"))),
        };
        gzip.Content.Headers.ContentEncoding.Add("gzip");
        gzip.Headers.Add("X-Polymur-Key", _key);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.SendAsync(gzip)).StatusCode);

        using var plain = new HttpRequestMessage(HttpMethod.Post, new Uri("/ingest", UriKind.Relative))
        {
            Content = new StringContent($"plain.metric 2 {now}", Encoding.UTF8, "text/plain"),
        };
        plain.Headers.Add("X-Polymur-Key", _key);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.SendAsync(plain)).StatusCode);

        Assert.True(await _carbon.WaitForLinesAsync(2));
        Assert.Equal([$"gz.metric 1 {now}", $"plain.metric 2 {now}"], _carbon.Lines.Order());
    }

    public static TheoryData<string, int, string> BadBodies => new()
    {
        { "not-gzip", 400, "Batch Malformed: the body is neither gzip" },
        { "declared-gzip-but-plain", 400, "Batch Malformed: the body does not start with the gzip magic bytes" },
        { "corrupt-gzip", 400, "Batch Malformed: the gzip stream is corrupt" },
        { "bomb", 413, "Batch Too Large: more than 1048576 bytes once decompressed" },
        { "too-large", 413, "Batch Too Large: the body is larger than 65536 bytes" },
        { "brotli", 415, "Batch Malformed: Content-Encoding 'br' is not supported" },
        { "all-lines-bad", 400, "Batch Malformed: none of its 2 lines is valid" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_body_is_refused_with_a_reason_and_nothing_is_forwarded(string body, int status, string reason)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/ingest", UriKind.Relative));
        request.Headers.Add("X-Polymur-Key", _key);
        var good = Encoding.UTF8.GetBytes($"ok.metric 1 {GraphiteTestHost.Now()}\n");
        var gzip = GraphiteTestHost.Gzip(good);
        request.Content = body switch
        {
            "not-gzip" => new ByteArrayContent([0x00, 0x01, 0x02, 0x03]),
            "declared-gzip-but-plain" => new ByteArrayContent(good),
            "corrupt-gzip" => new ByteArrayContent([.. gzip[..10], .. Enumerable.Repeat((byte)0xFF, 40)]),
            "bomb" => new ByteArrayContent(GraphiteTestHost.Gzip(new byte[16 * 1024 * 1024], System.IO.Compression.CompressionLevel.SmallestSize)),
            "too-large" => new ByteArrayContent(RandomBytes(100_000, gzipMagic: true)),
            "brotli" => new ByteArrayContent(good),
            _ => new ByteArrayContent(GraphiteTestHost.Gzip("bad/name 1 1\nworse NaN -1\n"u8.ToArray())),
        };
        if (body == "declared-gzip-but-plain")
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }
        else if (body == "too-large")
        {
            // The server answers from Content-Length without reading the body; 100-continue keeps the client
            // from writing a body the server will not read (otherwise the socket may be reset mid-send).
            request.Headers.ExpectContinue = true;
        }
        else if (body == "brotli")
        {
            request.Content.Headers.ContentEncoding.Add("br");
        }

        var response = await _host.Client.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.StartsWith(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The host is still fine, and only what comes next reaches carbon.
        var next = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", _key, "after.bad 1 -1\n"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.True(await _carbon.WaitForLinesAsync(1));
        Assert.StartsWith("after.bad 1 ", Assert.Single(_carbon.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Good_lines_of_a_batch_with_bad_ones_are_delivered_and_the_bad_ones_counted_and_shown()
    {
        var now = GraphiteTestHost.Now();
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", _key,
            $"good.one 1 {now}\nbad..name 2 {now}\ngood.two 3 {now}\nbad.value abc {now}\n"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", response.Headers.GetValues("X-CloudProxy-Bad-Lines").Single());
        Assert.True(await _carbon.WaitForLinesAsync(2));
        Assert.Equal([$"good.one 1 {now}", $"good.two 3 {now}"], _carbon.Lines.Order());

        Assert.Equal(1, await _host.MetricAsync(GraphiteMetricNames.BadLines, ("key", "team-a"), ("reason", "name_dots")));
        Assert.Equal(1, await _host.MetricAsync(GraphiteMetricNames.BadLines, ("key", "team-a"), ("reason", "value")));
        using var admin = GraphiteTestHost.Admin(_host);
        var recent = await admin.GetFromJsonAsync<JsonElement>(new Uri("/bad-lines/team-a", UriKind.Relative));
        Assert.Equal([$"bad..name 2 {now}", $"bad.value abc {now}"], recent.EnumerateArray().Select(e => e.GetProperty("line").GetString()));
        Assert.Equal(["name_dots", "value"], recent.EnumerateArray().Select(e => e.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task A_key_with_prefix_on_gets_its_name_before_each_metric()
    {
        var key = await GraphiteTestHost.CreateKeyAsync(_host, "team-b", prefix: true);
        var response = await _host.Client.SendAsync(GraphiteTestHost.PolymurRequest("/ingest", key, "cpu.load 1 -1\n"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await _carbon.WaitForLinesAsync(1));
        Assert.StartsWith("team-b.cpu.load 1 ", Assert.Single(_carbon.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_plaintext_listener_takes_carbon_lines_and_counts_bad_ones()
    {
        var now = GraphiteTestHost.Now();
        using (var client = new System.Net.Sockets.TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", GraphiteTestHost.PlaintextPort(_host));
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"tcp.one 1 {now}\nnot a line at all\ntcp.two 2 {now}"));
        }

        Assert.True(await _carbon.WaitForLinesAsync(2));
        Assert.Equal([$"tcp.one 1 {now}", $"tcp.two 2 {now}"], _carbon.Lines.Order());
        Assert.Equal(1, await _host.MetricAsync(GraphiteMetricNames.BadLines, ("key", "_plaintext"), ("reason", "fields")));
    }

    private static byte[] RandomBytes(int count, bool gzipMagic)
    {
        var bytes = new byte[count];
        new Random(1).NextBytes(bytes);
        if (gzipMagic)
        {
            bytes[0] = 0x1f;
            bytes[1] = 0x8b;
        }

        return bytes;
    }
}

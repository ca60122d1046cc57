using System.IO.Compression;
using System.Net;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

public sealed class SentryBodyTests
{
    public static TheoryData<string> Encodings => ["gzip", "x-gzip", "deflate", "deflate-raw", "br", "zstd", "identity", "UTF-8", ""];

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Each_encoding_is_decompressed_and_forwarded_as_the_same_bytes_gzip_compressed(string encoding)
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = SentryRig.NewEventId();
        var body = SentryRig.Envelope(eventId);

        using var response = await rig.PostEnvelopeAsync(body, contentEncoding: encoding is "" ? null : encoding == "deflate-raw" ? "deflate" : encoding, raw: Compress(encoding, Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1));
        var got = rig.A.Received.Single();
        Assert.Equal(body, got.BodyText);
        Assert.Equal("gzip", got.Header("Content-Encoding"));
    }

    [Fact]
    public async Task A_body_that_is_not_gzip_is_refused_with_400()
    {
        await using var rig = await SentryRig.StartAsync();

        using var response = await rig.PostEnvelopeAsync(string.Empty, contentEncoding: "gzip", raw: Encoding.UTF8.GetBytes("this is not gzip at all"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("does not decompress", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "corrupt_body")));
    }

    [Fact]
    public async Task A_decompression_bomb_is_stopped_at_the_limit_with_413()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Ingress:MaxEnvelopeBytes=1048576");
        // 64 MiB of zeros gzip to ~64 KiB: the ingress must stop after 1 MiB of output.
        using var zeros = new MemoryStream();
        await using (var gzip = new GZipStream(zeros, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(chunk);
            }
        }

        using var response = await rig.PostEnvelopeAsync(string.Empty, contentEncoding: "gzip", raw: zeros.ToArray());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("larger than the 1048576-byte limit", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "body_too_large")));
    }

    [Fact]
    public async Task An_oversize_event_is_refused_with_413()
    {
        await using var rig = await SentryRig.StartAsync();
        var big = new string('x', (1024 * 1024) + 10);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/store/?sentry_key={SentryRig.Key}", UriKind.Relative))
        {
            Content = new StringContent($"{{\"message\":\"{big}\"}}"),
        };

        using var store = await rig.Client.SendAsync(request);
        using var envelope = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId(), message: big));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, store.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, envelope.StatusCode);
        Assert.Contains("event limit", await envelope.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "body_too_large")));
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "event_too_large")));
    }

    [Theory]
    [InlineData("not json\n{\"type\":\"event\"}\n{}\n", "first line is not a JSON object")]
    [InlineData("{}\n{\"length\":2}\n{}\n", "has no type")]
    [InlineData("{}\n{\"type\":\"event\",\"length\":500}\n{}\n", "declares length 500")]
    [InlineData("{\"event_id\":\"nope\"}\n", "event_id is not a UUID")]
    public async Task A_malformed_envelope_is_refused_with_400_and_its_reason(string body, string reason)
    {
        await using var rig = await SentryRig.StartAsync();

        using var response = await rig.PostEnvelopeAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "malformed_envelope")));
        Assert.Equal(0, rig.A.Attempts);
    }

    [Fact]
    public async Task An_unknown_content_encoding_is_refused_with_415()
    {
        await using var rig = await SentryRig.StartAsync();

        using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()), contentEncoding: "compress");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "unsupported_encoding")));
    }

    private static byte[] Compress(string encoding, byte[] data)
    {
        using var output = new MemoryStream();
        Stream? compressor = encoding switch
        {
            "gzip" or "x-gzip" => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "deflate" => new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "deflate-raw" => new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "br" => new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "zstd" => new ZstdSharp.CompressionStream(output, leaveOpen: true),
            _ => null,
        };
        if (compressor is null)
        {
            return data;
        }

        using (compressor)
        {
            compressor.Write(data);
        }

        return output.ToArray();
    }
}

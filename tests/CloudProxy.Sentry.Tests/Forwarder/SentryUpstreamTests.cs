using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;

namespace CloudProxy.Sentry.Tests.Forwarder;

public sealed class SentryUpstreamTests
{
    private const string K1 = "b1302c1848c343bdbec1a86e19288f0b";
    private const string K2 = "ae89dbc83adc43829e0b3097561c78ba";
    private const string K3 = "3cf5af72ad8b4a4baa5715b972e4d738";

    [Fact]
    public void Ogres_hosts_and_projects_flags_map_each_key_per_host()
    {
        var options = new SentryForwarderOptions { Hosts = "http://localhost:9000, https://example.com:9000", Projects = $"{K1}:{K2},{K3}@5:{K2}@7" };
        var errors = new List<string>();

        var upstreams = SentryUpstream.Resolve(options, errors);

        Assert.Empty(errors);
        Assert.Equal(["0", "1"], upstreams.Select(u => u.Name));
        Assert.Equal(K1, upstreams[0].MapKey(K1));
        Assert.Equal(K2, upstreams[1].MapKey(K1));
        Assert.Equal(K2, upstreams[1].MapKey(K3.ToUpperInvariant()));
        Assert.Equal(K3, upstreams[0].MapKey(K3));
        Assert.Equal("7", upstreams[1].MapProject("5"));
        Assert.Equal("9", upstreams[1].MapProject("9"));
    }

    [Theory]
    [InlineData("localhost:9000", null, "must be an absolute http(s) URL")]
    [InlineData("http://a,http://b", "k1:k2:k3", "one key per host (2)")]
    [InlineData(null, "k1:k2", "needs CloudProxy:Sentry:Forwarder:Hosts")]
    public void Bad_ogre_flags_are_reported_naming_the_setting(string? hosts, string? projects, string expected)
    {
        var errors = new List<string>();

        SentryUpstream.Resolve(new SentryForwarderOptions { Hosts = hosts, Projects = projects }, errors);

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_request_maps_path_query_auth_and_dsn_and_keeps_the_rest()
    {
        var upstream = new SentryUpstream("b", new Uri("https://sentry.example.com/prefix/"), new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [K1] = K2 }, new Dictionary<string, string> { ["42"] = "202" });
        var payload = $"{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://{K1}@o.example.com/42\"}}\n{{\"type\":\"event\"}}\n{{}}\n";
        var envelope = new Envelope
        {
            Topic = "sentry",
            Kind = SentryEnvelopeHeaders.EnvelopeKind,
            Key = K1,
            Headers = new Dictionary<string, string>
            {
                [SentryEnvelopeHeaders.Path] = "/api/42/envelope/",
                [SentryEnvelopeHeaders.Query] = $"?sentry_version=7&sentry_key={K1}",
                [SentryEnvelopeHeaders.AuthSource] = "x-sentry-auth",
                [SentryEnvelopeHeaders.AuthValue] = $"Sentry sentry_key={K1}, sentry_version=7",
                [SentryEnvelopeHeaders.ContentType] = "application/x-sentry-envelope",
                [SentryEnvelopeHeaders.ForwardedFor] = "10.0.0.1",
            },
            Payload = Encoding.UTF8.GetBytes(payload),
        };

        using var request = SentryRequestBuilder.Build(upstream, envelope);
        var body = Encoding.UTF8.GetString(await request.Content!.ReadAsByteArrayAsync());

        Assert.Equal($"https://sentry.example.com/prefix/api/202/envelope/?sentry_version=7&sentry_key={K2}", request.RequestUri!.ToString());
        Assert.Equal($"Sentry sentry_key={K2}, sentry_version=7", request.Headers.GetValues("X-Sentry-Auth").Single());
        Assert.Equal("10.0.0.1", request.Headers.GetValues("X-Forwarded-For").Single());
        Assert.Equal("application/x-sentry-envelope", request.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith($"{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://{K2}@o.example.com/202\"}}\n", body, StringComparison.Ordinal);
        Assert.EndsWith("\n{\"type\":\"event\"}\n{}\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upstream_without_mapping_gets_the_payload_bytes_unchanged()
    {
        var upstream = new SentryUpstream("a", new Uri("http://127.0.0.1:9000"), new Dictionary<string, string>(), new Dictionary<string, string>());
        var payload = Encoding.UTF8.GetBytes("{\"dsn\":\"https://k@h/1\"}\n");

        Assert.True(SentryRequestBuilder.MapEnvelopeHeader(payload, upstream).Span.SequenceEqual(payload));
        Assert.Equal("/api/store/", SentryRequestBuilder.MapPath("/api/store/", upstream));
    }

    [Fact]
    public void The_trace_public_key_and_dsn_are_replaced_and_every_other_header_byte_is_kept()
    {
        var upstream = new SentryUpstream("a", new Uri("http://127.0.0.1:9000"), new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [K1] = K2 }, new Dictionary<string, string> { ["42"] = "202" });
        // Odd spacing, non-ASCII, a nested object before public_key, an unmapped key elsewhere: all kept as they are.
        var header = $"{{ \"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",  \"sdk\":{{\"name\":\"s\u00e9ntry\"}}, \"dsn\": \"https://{K1}@o.example.com/42\", \"trace\":{{\"trace_id\":\"t\",\"x\":{{\"public_key\":\"{K3}\"}},\"public_key\" : \"{K1.ToUpperInvariant()}\",\"release\":\"é 1\"}}, \"other\":\"{K3}\"}}";
        var rest = "\n{\"type\":\"transaction\"}\n{\"trace\":{\"public_key\":\"" + K1 + "\"}}\n";
        var payload = Encoding.UTF8.GetBytes(header + rest);

        var mapped = Encoding.UTF8.GetString(SentryRequestBuilder.MapEnvelopeHeader(payload, upstream).Span);

        var expected = header.Replace($"https://{K1}@o.example.com/42", $"https://{K2}@o.example.com/202", StringComparison.Ordinal)
            .Replace($"\"public_key\" : \"{K1.ToUpperInvariant()}\"", $"\"public_key\" : \"{K2}\"", StringComparison.Ordinal);
        // Only the envelope header is mapped: item payloads are the SDK's bytes.
        Assert.Equal(expected + rest, mapped);
    }

    [Fact]
    public void A_trace_public_key_of_an_unmapped_project_is_left_alone()
    {
        var upstream = new SentryUpstream("a", new Uri("http://127.0.0.1:9000"), new Dictionary<string, string> { [K1] = K2 }, new Dictionary<string, string>());
        var payload = Encoding.UTF8.GetBytes($"{{\"trace\":{{\"public_key\":\"{K3}\"}}}}\n{{\"type\":\"event\"}}\n{{}}\n");

        Assert.True(SentryRequestBuilder.MapEnvelopeHeader(payload, upstream).Span.SequenceEqual(payload));
    }
}

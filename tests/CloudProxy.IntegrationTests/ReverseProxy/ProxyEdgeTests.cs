using System.Diagnostics;
using System.Net;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Trace propagation, bad input, hanging back ends, listener separation and configuration reload.</summary>
public sealed class ProxyEdgeTests
{
    [Fact]
    public async Task The_back_end_receives_the_callers_trace_id()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/trace");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await proxy.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var forwarded = backend.LastHeaders!["traceparent"].ToString();
        Assert.Single(backend.LastHeaders!["traceparent"]);
        Assert.Equal(traceId, forwarded.Split('-')[1]);
    }

    [Fact]
    public async Task With_b3_on_a_zipkin_trace_is_continued_and_sent_in_both_formats()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "--CloudProxy:ReverseProxy:B3=true");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/b3");
        request.Headers.Add("X-B3-TraceId", "a3ce929d0e0e4736");
        request.Headers.Add("X-B3-SpanId", "00f067aa0ba902b7");
        request.Headers.Add("X-B3-Sampled", "1");

        using var response = await proxy.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0000000000000000a3ce929d0e0e4736", backend.LastHeaders!["traceparent"].ToString().Split('-')[1]);
        Assert.Equal("0000000000000000a3ce929d0e0e4736", backend.LastHeaders!["X-B3-TraceId"].ToString());
        Assert.NotEqual("00f067aa0ba902b7", backend.LastHeaders!["X-B3-SpanId"].ToString());
    }

    [Fact]
    public async Task Without_b3_zipkin_headers_are_passed_along_untouched_and_start_no_trace()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nob3");
        request.Headers.Add("X-B3-TraceId", "a3ce929d0e0e4736");
        request.Headers.Add("X-B3-SpanId", "00f067aa0ba902b7");

        using var response = await proxy.Client.SendAsync(request);

        Assert.Equal("00f067aa0ba902b7", backend.LastHeaders!["X-B3-SpanId"].ToString());
        Assert.DoesNotContain("a3ce929d0e0e4736", backend.LastHeaders!["traceparent"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Large_request_and_response_bodies_pass_through_whole()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);
        var upload = new byte[8 * 1024 * 1024];

        using var posted = await proxy.Client.PostAsync("/upload?size=1", new ByteArrayContent(upload));
        using var downloaded = await proxy.Client.GetAsync("/download?cc=max-age%3D60&bytes=5000000");

        Assert.Equal("8388608", await posted.Content.ReadAsStringAsync());
        Assert.Equal(5_000_000, (await downloaded.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal("MISS", downloaded.Headers.GetValues("X-Cache").Single());
    }

    [Fact]
    public async Task An_absurd_header_gets_431_and_never_reaches_the_back_end()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/h");
        request.Headers.Add("X-Huge", new string('a', 64 * 1024));

        using var response = await proxy.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal(0, backend.Total);
    }

    [Fact]
    public async Task A_very_long_url_gets_414_and_never_reaches_the_back_end()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address);

        using var response = await proxy.Client.GetAsync("/long?" + new string('q', 20 * 1024));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        Assert.Equal(0, backend.Total);
    }

    [Fact]
    public async Task A_back_end_that_hangs_gets_a_504_after_the_back_end_timeout()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address, "--CloudProxy:ReverseProxy:BackendTimeoutSeconds=1");

        using var response = await proxy.Client.GetAsync("/hang?hang=1");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(1, await proxy.MetricAsync(CloudProxy.ReverseProxy.ReverseProxyMetricNames.Requests, ("status_class", "5xx")));
    }

    [Fact]
    public async Task With_all_services_the_proxy_catch_all_does_not_shadow_the_main_listener()
    {
        await using var backend = await ProxyBackend.StartAsync();
        await using var host = await RunningHost.StartAsync("-proxy-url", backend.Address.ToString(), "-listen-address", "127.0.0.1:0");
        var proxy = host.Services.GetRequiredService<ReverseProxyServer>().Address!;
        using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = proxy };

        using var heartbeat = await host.Client.GetAsync("/heartbeat");
        using var metrics = await host.Client.GetAsync("/metrics");
        using var proxied = await client.GetAsync("/heartbeat");

        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(0, backend.CallsTo("/metrics"));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.StartsWith("call 1 of /heartbeat", await proxied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_all_services_and_nothing_to_proxy_no_proxy_listener_is_opened()
    {
        await using var host = await RunningHost.StartAsync();

        Assert.Null(host.Services.GetRequiredService<ReverseProxyServer>().Address);
    }

    [Fact]
    public async Task Routes_added_to_the_config_file_are_served_without_a_restart()
    {
        await using var backend = await ProxyBackend.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-yarp-").FullName, "proxy.json");
        await File.WriteAllTextAsync(file, Config(backend.Address, "/a/{**rest}"));
        await using var host = await RunningHost.StartAsync("--services", "reverse-proxy", "--proxy-config", file, "-listen-address", "127.0.0.1:0");
        var address = host.Services.GetRequiredService<ReverseProxyServer>().Address!;
        using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = address };

        using var before = await client.GetAsync("/b/1");
        await File.WriteAllTextAsync(file, Config(backend.Address, "/b/{**rest}"));
        var served = await Eventually.TrueAsync(async () =>
        {
            using var after = await client.GetAsync("/b/1");
            return after.StatusCode == HttpStatusCode.OK;
        });

        Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        Assert.True(served, "the route added to the file was not served within the deadline");
        Assert.Equal(1, backend.CallsTo("/b/1"));
    }

    [Fact]
    public async Task A_bad_route_metadata_value_stops_start_up_naming_the_route()
    {
        await using var backend = await ProxyBackend.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-yarp-").FullName, "proxy.json");
        await File.WriteAllTextAsync(file, Config(backend.Address, "/a/{**rest}", """, "Metadata": { "CloudProxy.Cache.TtlSeconds": "soon" }"""));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RunningHost.StartAsync("--services", "reverse-proxy", "--proxy-config", file, "-listen-address", "127.0.0.1:0"));

        Assert.Contains("route 'r1'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("CloudProxy.Cache.TtlSeconds", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--CloudProxy:ReverseProxy:Backpressure:MinWindow=0", "MinWindow must be at least 1")]
    [InlineData("--CloudProxy:ReverseProxy:Backpressure:MaxWindow=1", "MaxWindow must be greater than MinWindow")]
    [InlineData("-listen-address=nowhere", "-listen-address")]
    [InlineData("-proxy-url=ftp://x", "-proxy-url")]
    public async Task A_bad_setting_stops_start_up_naming_it(string setting, string named)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => RunningHost.StartAsync("--services", "reverse-proxy",
            "--CloudProxy:ReverseProxy:Backpressure:Enabled=true", setting));

        Assert.True(error is OptionsValidationException || error.InnerException is OptionsValidationException || error.Message.Contains(named, StringComparison.Ordinal), error.ToString());
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }

    private static string Config(Uri backend, string path, string metadata = "") => $$"""
        {
          "ReverseProxy": {
            "Routes": { "r1": { "ClusterId": "c1", "Match": { "Path": "{{path}}" }{{metadata}} } },
            "Clusters": { "c1": { "Destinations": { "d1": { "Address": "{{backend}}" } } } }
          }
        }
        """;
}

using CloudProxy.Host;
using Microsoft.Extensions.Configuration;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>ogre's command line, as its users run it, starts CloudProxy with the same meaning.</summary>
public sealed class SentryOgreFlagsTests
{
    private const string K1 = "b1302c1848c343bdbec1a86e19288f0b";
    private const string K2 = "ae89dbc83adc43829e0b3097561c78ba";

    [Fact]
    public async Task Ogres_flags_configure_port_upstreams_mapping_queue_workers_and_timeout()
    {
        var port = Loopback.FreeTcpPort();
        var spool = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-ogre-").FullName, "spool");
        await using var app = CloudProxyApp.Build(
        [
            "--services", "sentry-ingress,sentry-forwarder", "--spool-path", spool,
            "--httpproxy.port", $":{port}",
            "--pusher.sentry.host", "http://127.0.0.1:9000,https://sentry.example.com:9000",
            "--pusher.sentry.projects", $"{K1}:{K2}",
            "--pusher.queue_size", "5000",
            "--pusher.drop_threshold", "20ms",
            "--pusher.pool.unstoppable_workers", "6",
            "--pusher.client.request_timeout", "100ms",
            "--debug",
        ]);
        await app.StartAsync();
        try
        {
            var sentry = app.Services.GetRequiredService<IOptions<CloudProxy.Sentry.SentryOptions>>().Value;
            var upstreams = app.Services.GetRequiredService<SentryForwarder>().Upstreams;
            var configuration = app.Services.GetRequiredService<IConfiguration>();

            Assert.Contains($"127.0.0.1:{port}", app.Urls.Single(), StringComparison.Ordinal);
            Assert.Equal(2, upstreams.Count);
            Assert.Equal(K2, upstreams[1].Upstream.MapKey(K1));
            Assert.Equal(6, upstreams[0].Limiter.Limit);
            Assert.Equal("100ms", sentry.Forwarder.RequestTimeout);
            Assert.Equal("5000", configuration["CloudProxy:Outbox:Capacity"]);
            Assert.Equal("true", configuration["CloudProxy:Verbose"]);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task A_bad_ogre_timeout_stops_start_up_naming_the_flag()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await CloudProxyApp.RunAsync(
            ["--services", "sentry-ingress,sentry-forwarder", "--http-port", "0", "--pusher.sentry.host", "http://127.0.0.1:9000", "--pusher.client.request_timeout", "soon"],
            output,
            error).WaitAsync(TimeSpan.FromSeconds(60)); // a case that wrongly starts would otherwise run until shut down

        Assert.Equal(2, code);
        Assert.Contains("--pusher.client.request_timeout", error.ToString(), StringComparison.Ordinal);
    }
}

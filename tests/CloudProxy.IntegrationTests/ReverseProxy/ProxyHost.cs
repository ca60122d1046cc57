using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>The real host running the reverse proxy on its own loopback listener (port 0), in front of a back end.</summary>
public sealed class ProxyHost : IAsyncDisposable
{
    private ProxyHost(RunningHost host, Uri proxyAddress)
    {
        Host = host;
        Address = proxyAddress;
        // Like RunningHost's client: no cookies, no trace headers of the test process's own.
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false, ActivityHeadersPropagator = null, AllowAutoRedirect = false })
        {
            BaseAddress = proxyAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public RunningHost Host { get; }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public static async Task<ProxyHost> StartAsync(Uri backend, params string[] args)
    {
        var host = await RunningHost.StartAsync(["--services", "reverse-proxy", "-proxy-url", backend.ToString(), "-listen-address", "127.0.0.1:0", .. args]);
        var server = host.Services.GetRequiredService<ReverseProxyServer>();
        return new ProxyHost(host, server.Address ?? throw new InvalidOperationException("the reverse proxy did not start its listener"));
    }

    public Task<double> MetricAsync(string name, params (string Label, string Value)[] labels) => Host.MetricAsync(name, labels);

    /// <summary>Sends a request through the proxy and reads its body.</summary>
    public async Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, Action<HttpRequestMessage>? configure = null, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        configure?.Invoke(request);
        var response = await Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The proxy's cache status of a response (HIT, MISS, UPDATING, STALE, REVALIDATED).</summary>
    public static string XCache(HttpResponseMessage response) => string.Join(",", response.Headers.GetValues("X-Cache"));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}

using System.Net;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>Routes and clusters from a YARP config file: per-route cache and rate-limit settings, YARP's load balancing.</summary>
public sealed class ProxyRouteTests : IAsyncLifetime
{
    private ProxyBackend _one = null!;
    private ProxyBackend _two = null!;
    private RunningHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _one = await ProxyBackend.StartAsync();
        _two = await ProxyBackend.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-yarp-").FullName, "proxy.json");
        await File.WriteAllTextAsync(file, $$"""
            {
              "ReverseProxy": {
                "Routes": {
                  "ttl": { "ClusterId": "one", "Match": { "Path": "/ttl/{**rest}" }, "Metadata": { "CloudProxy.Cache.TtlSeconds": "60" } },
                  "small": { "ClusterId": "one", "Match": { "Path": "/small/{**rest}" }, "Metadata": { "CloudProxy.Cache.MaxEntryBytes": "10" } },
                  "limited": { "ClusterId": "one", "Match": { "Path": "/limited/{**rest}" }, "Metadata": { "CloudProxy.RateLimit.RequestsPerMinute": "1" } },
                  "spread": { "ClusterId": "both", "Match": { "Path": "/spread/{**rest}" } }
                },
                "Clusters": {
                  "one": { "Destinations": { "d": { "Address": "{{_one.Address}}" } } },
                  "both": {
                    "LoadBalancingPolicy": "RoundRobin",
                    "Destinations": { "a": { "Address": "{{_one.Address}}" }, "b": { "Address": "{{_two.Address}}" } }
                  }
                }
              }
            }
            """);
        _host = await RunningHost.StartAsync("--services", "reverse-proxy", "--proxy-config", file, "-listen-address", "127.0.0.1:0");
        _client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = _host.Services.GetRequiredService<ReverseProxyServer>().Address };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
        await _one.DisposeAsync();
        await _two.DisposeAsync();
    }

    private async Task<string> XCacheAsync(string path)
    {
        using var response = await _client.GetAsync(path);
        return response.Headers.GetValues("X-Cache").Single();
    }

    [Fact]
    public async Task A_route_ttl_caches_responses_that_state_no_freshness()
    {
        Assert.Equal("MISS", await XCacheAsync("/ttl/a"));
        Assert.Equal("HIT", await XCacheAsync("/ttl/a"));
    }

    [Fact]
    public async Task A_route_size_limit_keeps_larger_bodies_out_of_the_cache()
    {
        Assert.Equal("MISS", await XCacheAsync("/small/a?cc=max-age%3D60&bytes=11"));
        Assert.Equal("MISS", await XCacheAsync("/small/a?cc=max-age%3D60&bytes=11"));
        Assert.Equal("MISS", await XCacheAsync("/small/b?cc=max-age%3D60&bytes=10"));
        Assert.Equal("HIT", await XCacheAsync("/small/b?cc=max-age%3D60&bytes=10"));
    }

    [Fact]
    public async Task A_route_rate_limit_applies_to_that_route_only()
    {
        using var first = await _client.GetAsync("/limited/x");
        using var second = await _client.GetAsync("/limited/x");
        using var other = await _client.GetAsync("/spread/x");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Round_robin_spreads_requests_over_both_destinations()
    {
        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.GetAsync($"/spread/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(2, _one.Total);
        Assert.Equal(2, _two.Total);
    }
}

using System.Net;
using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Tests.RateLimiting;

public class ProxyClientIdentityTests
{
    private static HttpContext Context(string peer, string? forwardedFor = null, string? apiKey = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        if (apiKey is not null)
        {
            context.Request.Headers["X-Api-Key"] = apiKey;
        }

        return context;
    }

    private static ProxyClientIdentity Identity(RateLimitPartitionBy by = RateLimitPartitionBy.ClientIp, params string[] trusted)
    {
        var options = new ProxyRateLimitOptions { PartitionBy = by };
        foreach (var t in trusted)
        {
            options.TrustedProxies.Add(t);
        }

        return new ProxyClientIdentity(options);
    }

    [Fact]
    public void An_untrusted_peers_forwarded_for_is_ignored() =>
        Assert.Equal("198.51.100.1", Identity().ClientAddress(Context("198.51.100.1", "203.0.113.9")));

    [Fact]
    public void Trusted_hops_are_skipped_right_to_left_to_the_first_untrusted_address() =>
        Assert.Equal("203.0.113.9", Identity(trusted: ["10.0.0.0/8", "127.0.0.1"])
            .ClientAddress(Context("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.1.2.3")));

    [Fact]
    public void A_garbage_hop_stops_the_walk_at_the_last_good_address() =>
        Assert.Equal("10.1.2.3", Identity(trusted: ["10.0.0.0/8", "127.0.0.1"])
            .ClientAddress(Context("127.0.0.1", "1.2.3.4, not-an-ip, 10.1.2.3")));

    [Fact]
    public void An_ipv4_mapped_peer_is_the_ipv4_address() =>
        Assert.Equal("127.0.0.1", Identity().ClientAddress(Context("::ffff:127.0.0.1")));

    [Fact]
    public void The_api_key_partition_is_a_bounded_hash_and_falls_back_to_the_address()
    {
        var identity = Identity(RateLimitPartitionBy.Header);

        var keyed = identity.KeyOf(Context("127.0.0.1", apiKey: new string('k', 10_000)));

        Assert.StartsWith("key:", keyed, StringComparison.Ordinal);
        Assert.Equal(36, keyed.Length);
        Assert.Equal("ip:127.0.0.1", identity.KeyOf(Context("127.0.0.1")));
    }
}

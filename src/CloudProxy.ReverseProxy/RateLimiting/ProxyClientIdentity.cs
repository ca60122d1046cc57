using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Who a request counts against: its API key header, or its client address. X-Forwarded-For is read only
/// when the peer is a trusted proxy, right to left, skipping trusted hops: the first untrusted address is the
/// client (anything left of it could have been written by the client itself).
/// </summary>
internal sealed class ProxyClientIdentity
{
    private readonly IReadOnlyList<IPNetwork> _trusted;
    private readonly ProxyRateLimitOptions _options;

    public ProxyClientIdentity(ProxyRateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _trusted = [.. options.TrustedProxies.Select(t => ParseNetwork(t) ?? throw new FormatException($"not an address or CIDR range: '{t}'"))];
    }

    public static IPNetwork? ParseNetwork(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IPNetwork.TryParse(text, out var network))
        {
            return network;
        }

        return IPAddress.TryParse(text, out var address)
            ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
            : null;
    }

    public string KeyOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_options.PartitionBy == RateLimitPartitionBy.Header)
        {
            var value = context.Request.Headers[_options.Header].ToString();
            if (value.Length > 0)
            {
                // Hashed: the key must not grow with an absurd header, and the store need not hold the secret.
                return "key:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..32];
            }
        }

        return "ip:" + ClientAddress(context);
    }

    public string ClientAddress(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peer = Normalize(context.Connection.RemoteIpAddress);
        if (peer is null)
        {
            return "unknown";
        }

        if (!IsTrusted(peer))
        {
            return peer.ToString();
        }

        var client = peer;
        var hops = context.Request.Headers["X-Forwarded-For"].SelectMany(v => (v ?? string.Empty).Split(',')).ToArray();
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i].Trim(), out var hop))
            {
                break;
            }

            client = Normalize(hop)!;
            if (!IsTrusted(client))
            {
                break;
            }
        }

        return client.ToString();
    }

    private bool IsTrusted(IPAddress address)
    {
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}

using System.Globalization;
using System.Net;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>The proxy's listen address as go-rev-proxy's <c>-listen-address</c> takes it: <c>host:port</c>, <c>:port</c> (all interfaces) or <c>http://host:port</c>.</summary>
internal static class ProxyListenAddress
{
    /// <summary>Returns a problem, or null with the endpoint.</summary>
    public static string? TryParse(string? text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (string.IsNullOrWhiteSpace(text))
        {
            return "must not be empty";
        }

        var value = text.Trim();
        if (value.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            value = value["http://".Length..].TrimEnd('/');
        }

        var colon = value.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return $"'{text}' is not host:port";
        }

        var host = value[..colon].Trim('[', ']');
        IPAddress? address;
        if (host.Length == 0)
        {
            address = IPAddress.Any;
        }
        else if (host == "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address))
        {
            return $"'{host}' is not an IP address";
        }

        endpoint = new IPEndPoint(address, port);
        return null;
    }
}

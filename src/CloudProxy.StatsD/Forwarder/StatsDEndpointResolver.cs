using System.Net;
using System.Net.Sockets;

namespace CloudProxy.StatsD.Forwarder;

internal static class StatsDEndpointResolver
{
    /// <summary>Resolves the daemon's address (IPv4 first), once per connection.</summary>
    public static async ValueTask<IPEndPoint> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return new IPEndPoint(literal, port);
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        return new IPEndPoint(address, port);
    }
}

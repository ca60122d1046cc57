using System.Net;
using System.Net.Sockets;

namespace CloudProxy.Tests.Common;

public static class Loopback
{
    /// <summary>A TCP port that was free a moment ago (for a server the test starts later, e.g. after an outage).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

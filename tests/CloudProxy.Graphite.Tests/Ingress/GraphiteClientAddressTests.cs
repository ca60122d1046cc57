using System.Net;
using CloudProxy.Graphite.Ingress;

namespace CloudProxy.Graphite.Tests.Ingress;

public class GraphiteClientAddressTests
{
    private static readonly HashSet<IPAddress> Trusted = [IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2")];

    [Theory]
    [InlineData("203.0.113.9", "198.51.100.7", "203.0.113.9")] // an untrusted peer cannot claim another address
    [InlineData("10.0.0.1", "198.51.100.7", "198.51.100.7")]
    [InlineData("10.0.0.1", "198.51.100.7, 10.0.0.2", "198.51.100.7")] // through two trusted proxies
    [InlineData("10.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7")] // what the client itself wrote is not believed
    [InlineData("10.0.0.1", null, "10.0.0.1")]
    [InlineData("::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7")]
    public void X_Forwarded_For_counts_only_from_trusted_proxies(string remote, string? forwarded, string client) =>
        Assert.Equal(client, GraphiteGatewayHandler.ResolveClient(IPAddress.Parse(remote), forwarded, Trusted));
}

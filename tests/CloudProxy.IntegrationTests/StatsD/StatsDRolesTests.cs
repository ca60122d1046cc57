using System.Net;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

public sealed class StatsDRolesTests
{
    [Fact]
    public async Task Forwarder_only_process_serves_no_StatsD_routes()
    {
        await using var host = await RunningHost.StartAsync(["--services", "statsd-forwarder"]);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync(new Uri("/heartbeat", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.PostAsync(new Uri("/count/a", UriKind.Relative), null)).StatusCode);
    }
}

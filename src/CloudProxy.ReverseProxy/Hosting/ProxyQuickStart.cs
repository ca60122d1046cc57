using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>go-rev-proxy's one-flag start: <c>-proxy-url http://backend</c> becomes one catch-all route and one cluster.</summary>
internal static class ProxyQuickStart
{
    public const string RouteId = "proxy-url";

    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters) Config(ReverseProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var route = new RouteConfig
        {
            RouteId = RouteId,
            ClusterId = RouteId,
            Match = new RouteMatch { Path = "/{**catch-all}" },
            // Below the configured routes: a route from configuration wins over the quick-start catch-all.
            Order = int.MaxValue,
        };
        var cluster = new ClusterConfig
        {
            ClusterId = RouteId,
            Destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
            {
                ["default"] = new DestinationConfig { Address = options.ProxyUrl! },
            },
            HttpRequest = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(options.BackendTimeoutSeconds) },
        };
        return ([route], [cluster]);
    }
}

using Yarp.ReverseProxy.Configuration;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// Checks our per-route Metadata keys on every (re)load. A bad value fails start-up with the route named; on a
/// reload YARP logs the error and keeps serving the previous configuration.
/// </summary>
internal sealed class ProxyRouteMetadataFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => ValueTask.FromResult(cluster);

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
    {
        var problems = ProxyRouteSettings.Problems(route).ToList();
        return problems.Count == 0 ? ValueTask.FromResult(route) : throw new InvalidOperationException(string.Join("; ", problems));
    }
}

using CloudProxy.StatsD.Ingress;
using CloudProxy.StatsD.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.StatsD;

public static class StatsDEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps statsd-http-proxy's routes (<c>/heartbeat</c>, <c>/count|gauge|timing|set/{key}</c>) and
    /// <c>/batch</c>, with CORS on all of them (OPTIONS answered) and the JWT check on the metric routes.
    /// Does nothing when this process does not run <c>statsd-ingress</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapStatsD(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var handler = app.ServiceProvider.GetService<StatsDIngressHandler>();
        if (handler is null)
        {
            return app;
        }

        // Handlers take the HttpContext directly (no parameter binding, no endpoint filters): this is the hot path.
        var group = app.MapGroup(string.Empty);
        group.MapMethods("/heartbeat", [HttpMethods.Get, HttpMethods.Head], handler.HeartbeatAsync).WithName("statsd-heartbeat");
        foreach (var (type, path) in Routes)
        {
            group.MapPost(path, context => handler.MetricAsync(context, type)).WithName("statsd-" + path.Split('/')[1]);
        }

        group.MapPost("/batch", handler.BatchAsync).WithName("statsd-batch");
        foreach (var path in (string[])["/heartbeat", "/batch", .. Routes.Select(r => r.Path)])
        {
            group.MapMethods(path, [HttpMethods.Options], handler.PreflightAsync)
                .WithName("statsd-preflight" + path.Replace('/', '-').Replace("{key}", "key", StringComparison.Ordinal));
        }

        return app;
    }

    /// <summary>Each metric type's route, <c>/{name}/{key}</c>, from its descriptor.</summary>
    private static readonly (StatsDMetricType Type, string Path)[] Routes =
        [.. StatsDMetricTypes.All.Values.OrderBy(i => i.Type).Select(i => (i.Type, "/" + i.Name + "/{key}"))];
}

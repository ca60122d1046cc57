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

        var group = app.MapGroup(string.Empty).AddEndpointFilter<StatsDCorsFilter>();
        group.MapMethods("/heartbeat", [HttpMethods.Get, HttpMethods.Head], (HttpContext c) => handler.HeartbeatAsync(c))
            .WithMetadata(new StatsDEndpointTag(StatsDIngressEndpoint.Heartbeat))
            .WithName("statsd-heartbeat");

        var metrics = group.MapGroup(string.Empty).AddEndpointFilter<StatsDJwtFilter>();
        foreach (var (type, path) in Routes)
        {
            metrics.MapPost(path, (HttpContext c, string key) => handler.MetricAsync(c, type, key))
                .WithMetadata(new StatsDEndpointTag((StatsDIngressEndpoint)((int)type + 1)))
                .WithName("statsd-" + path.Split('/')[1]);
        }

        metrics.MapPost("/batch", (HttpContext c) => handler.BatchAsync(c))
            .WithMetadata(new StatsDEndpointTag(StatsDIngressEndpoint.Batch))
            .WithName("statsd-batch");

        var cors = app.ServiceProvider.GetRequiredService<StatsDCors>();
        var replies = app.ServiceProvider.GetRequiredService<StatsDIngressMetrics>();
        foreach (var path in (string[])["/heartbeat", "/batch", .. Routes.Select(r => r.Path)])
        {
            app.MapMethods(path, [HttpMethods.Options], async (HttpContext c) =>
            {
                await cors.PreflightAsync(c);
                replies.Request(StatsDIngressEndpoint.Preflight, c.Response.StatusCode);
            }).WithName("statsd-preflight" + path.Replace('/', '-').Replace("{key}", "key", StringComparison.Ordinal));
        }

        return app;
    }

    private static readonly (StatsDMetricType Type, string Path)[] Routes =
    [
        (StatsDMetricType.Count, "/count/{key}"),
        (StatsDMetricType.Gauge, "/gauge/{key}"),
        (StatsDMetricType.Timing, "/timing/{key}"),
        (StatsDMetricType.Set, "/set/{key}"),
    ];
}

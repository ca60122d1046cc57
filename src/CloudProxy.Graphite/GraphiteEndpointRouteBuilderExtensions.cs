using CloudProxy.Graphite.Ingress;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Graphite;

public static class GraphiteEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps polymur-gateway's <c>/ping</c> and <c>/ingest</c> on the shared listener. The plaintext listener and
    /// the admin API have their own ports. Does nothing when this process does not run <c>graphite-gateway</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapGraphite(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var handler = app.ServiceProvider.GetService<GraphiteGatewayHandler>();
        if (handler is null)
        {
            return app;
        }

        var group = app.MapGroup(string.Empty);
        group.MapMethods("/ping", [HttpMethods.Post, HttpMethods.Get], handler.PingAsync).WithName("graphite-ping");
        group.MapPost("/ingest", handler.IngestAsync).WithName("graphite-ingest");
        return app;
    }
}

using CloudProxy.Sentry.Ingress;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Sentry;

public static class SentryEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps Sentry's ingestion routes (envelope, store, security/CSP, minidump, attachments; each with and
    /// without the trailing slash, OPTIONS answered for CORS) and passes any other <c>/api/…</c> request through
    /// to the first upstream. Does nothing when this process does not run <c>sentry-ingress</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapSentry(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var handler = app.ServiceProvider.GetService<SentryIngressHandler>();
        if (handler is null)
        {
            return app;
        }

        app.ServiceProvider.GetRequiredService<SentryStatusFields>();
        var passthrough = app.ServiceProvider.GetRequiredService<SentryPassthrough>();
        var group = app.MapGroup("/api");
        foreach (var endpoint in SentryIngressEndpoints.Buffered)
        {
            var which = endpoint.Endpoint;
            foreach (var (path, name) in endpoint.Routes)
            {
                group.MapPost(path, context => handler.HandleAsync(context, which)).WithName("sentry-" + name);
                group.MapMethods(path, [HttpMethods.Options], handler.PreflightAsync).WithName("sentry-preflight-" + name);
            }
        }

        // The one prefix catch-all, under /api only: Sentry endpoints this proxy does not buffer. Lowest
        // precedence (Order), so every route above, and any other module's, wins.
        group.Map("/{**rest}", passthrough.ForwardAsync).WithName("sentry-passthrough").WithOrder(int.MaxValue);
        return app;
    }
}

using CloudProxy.Core.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CloudProxy.Transport.Dapr.Subscriptions;

public static class DaprSubscriptionEndpoints
{
    /// <summary>
    /// Maps <c>GET /dapr/subscribe</c> and <c>POST /dapr/topics/{topic}</c> when the transport is Dapr; with the
    /// embedded transport it maps nothing, so no one can inject envelopes over HTTP.
    /// </summary>
    public static IEndpointRouteBuilder MapDaprSubscriptions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var transport = app.ServiceProvider.GetRequiredService<IOptions<TransportOptions>>().Value;
        if (transport.Kind != TransportKind.Dapr)
        {
            return app;
        }

        var endpoint = app.ServiceProvider.GetService<DaprDeliveryEndpoint>()
            ?? throw new InvalidOperationException(
                "MapDaprSubscriptions() needs AddDaprTransport() to have run with CloudProxy:Transport:Kind = Dapr.");

        var group = app.MapGroup("/dapr").WithTags("Dapr");
        group.MapGet("/subscribe", (RequestDelegate)endpoint.WriteSubscriptionsAsync).WithName("DaprSubscribe");
        group.MapPost("/topics/{topic}", (RequestDelegate)endpoint.HandleAsync).WithName("DaprTopicDelivery");
        return app;
    }
}

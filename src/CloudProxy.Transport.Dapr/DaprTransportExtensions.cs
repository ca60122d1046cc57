using CloudProxy.Core.Hosting;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Spool;
using CloudProxy.Core.State;
using CloudProxy.Core.Transport;
using CloudProxy.Transport.Dapr.Publishing;
using CloudProxy.Transport.Dapr.State;
using CloudProxy.Transport.Dapr.Subscriptions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CloudProxy.Transport.Dapr;

public static class DaprTransportExtensions
{
    /// <summary>
    /// With <c>CloudProxy:Transport:Kind = Dapr</c>: registers <c>DaprClient</c> (endpoints and API token from
    /// <c>DAPR_HTTP_ENDPOINT</c>/<c>DAPR_GRPC_ENDPOINT</c>/<c>DAPR_HTTP_PORT</c>/<c>DAPR_GRPC_PORT</c>/<c>DAPR_API_TOKEN</c>,
    /// as the SDK reads them), and replaces the envelope publisher and the state store with the Dapr ones.
    /// With the embedded transport it does nothing. Call it after Core's registrations, since it replaces them.
    /// </summary>
    public static CloudProxyBuilder AddDaprTransport(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var transport = new TransportOptions();
        builder.Configuration.GetSection(TransportOptions.Section).Bind(transport);
        if (transport.Kind != TransportKind.Dapr)
        {
            return builder;
        }

        var services = builder.Services;
        services.AddOptions<TransportOptions>().BindConfiguration(TransportOptions.Section);
        services.AddOptions<DaprTransportOptions>().BindConfiguration(TransportOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DaprTransportOptions>, DaprTransportOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DaprMetrics>();

        services.AddDaprClient();
        services.TryAddSingleton(sp => DaprSidecarChannel.FromConfiguration(
            sp.GetRequiredService<IConfiguration>(),
            sp.GetRequiredService<IOptions<DaprTransportOptions>>().Value.PublishTimeout));

        services.TryAddSingleton<DaprEnvelopePublisher>();
        services.RemoveAll<IEnvelopePublisher>();
        services.AddSingleton<IEnvelopePublisher>(sp => sp.GetRequiredService<DaprEnvelopePublisher>());

        services.TryAddSingleton<DaprStateStore>();
        services.RemoveAll<IStateStore>();
        services.AddSingleton<IStateStore>(sp => sp.GetRequiredService<DaprStateStore>());

        services.TryAddSingleton(sp => new DeliveryJournal(
            // Beside the logs it accounts for (the spool folder holds one folder per log, and this one file).
            Path.Combine(sp.GetRequiredService<IOptions<SpoolOptions>>().Value.Path, "dapr-deliveries.journal"),
            sp.GetRequiredService<CoreMetrics>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DeliveryJournal>>()));
        services.TryAddSingleton<DaprDeliveryEndpoint>();
        return builder;
    }
}

using CloudProxy.Core.Hosting;
using CloudProxy.Core.State;
using CloudProxy.Core.Status;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite.Forwarder;
using CloudProxy.Graphite.Ingress;
using CloudProxy.Graphite.Keys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite;

public static class GraphiteServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Graphite module for the roles this process runs: the gateway (HTTP ingest, plaintext
    /// listener, key cache, admin API) with <c>graphite-gateway</c>, the forwarder (an
    /// <see cref="IEnvelopeHandler"/> for the topic, plus its destination loops) with <c>graphite-forwarder</c>.
    /// Options bind from <c>CloudProxy:Graphite</c> and are validated at start.
    /// </summary>
    public static CloudProxyBuilder AddGraphite(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var gateway = builder.Roles.Has(ServiceRoles.GraphiteGateway);
        var forwarder = builder.Roles.Has(ServiceRoles.GraphiteForwarder);
        if (!gateway && !forwarder)
        {
            return builder;
        }

        var services = builder.Services;
        AddOptions(builder, gateway, forwarder);
        if (gateway)
        {
            builder.AddGraphiteKeys();
            services.TryAddSingleton<GraphiteKeyCache>();
            services.AddHostedService(sp => sp.GetRequiredService<GraphiteKeyCache>());
            services.TryAddSingleton<GraphiteIngressMetrics>();
            services.TryAddSingleton<GraphiteBadLineLog>();
            services.TryAddSingleton<GraphiteSubmitter>();
            services.TryAddSingleton<GraphiteQuotas>();
            services.TryAddSingleton<GraphiteGatewayHandler>();
            services.TryAddSingleton<GraphitePlaintextListener>();
            services.AddHostedService(sp => sp.GetRequiredService<GraphitePlaintextListener>());
            services.TryAddSingleton<GraphiteAdminServer>();
            services.AddHostedService(sp => sp.GetRequiredService<GraphiteAdminServer>());
        }

        if (forwarder)
        {
            services.TryAddSingleton<GraphiteForwarderMetrics>();
            services.TryAddSingleton<GraphiteForwarder>();
            services.AddSingleton<IEnvelopeHandler>(sp => sp.GetRequiredService<GraphiteForwarder>());
            services.AddHostedService(sp => sp.GetRequiredService<GraphiteForwarder>());
            services.AddSingleton<IQueueDepth>(sp => new GraphiteQueueDepth(sp.GetRequiredService<GraphiteForwarder>(), spool: false));
            services.AddSingleton<IQueueDepth>(sp => new GraphiteQueueDepth(sp.GetRequiredService<GraphiteForwarder>(), spool: true));
        }

        return builder;
    }

    /// <summary>
    /// Only the key store (for <c>cloudproxy keys …</c>): the embedded SQLite state store unless a transport
    /// (Dapr) registered another <see cref="IStateStore"/> first.
    /// </summary>
    public static CloudProxyBuilder AddGraphiteKeys(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        AddOptions(builder, gateway: false, forwarder: false);
        var configuration = builder.Configuration;
        services.AddOptions<StateOptions>().BindConfiguration(StateOptions.Section)
            .PostConfigure(o => o.Path = DataDirectory.Or(configuration, o.Path, "state.db"));
        services.TryAddSingleton<IStateStore, SqliteStateStore>();
        services.TryAddSingleton<GraphiteKeyStore>();
        return builder;
    }

    private static void AddOptions(CloudProxyBuilder builder, bool gateway, bool forwarder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<GraphiteOptions>().BindConfiguration(GraphiteOptions.Section)
            .PostConfigure(o => o.Forwarder.SpoolDirectory = DataDirectory.Or(configuration, o.Forwarder.SpoolDirectory, "graphite-spool"))
            .ValidateOnStart();
        if (gateway || forwarder)
        {
            services.AddSingleton<IValidateOptions<GraphiteOptions>>(new GraphiteOptionsValidator(gateway, forwarder));
        }
    }
}

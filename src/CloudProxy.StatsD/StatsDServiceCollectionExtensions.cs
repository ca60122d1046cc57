using CloudProxy.Core.Hosting;
using CloudProxy.Core.Transport;
using CloudProxy.StatsD.Forwarder;
using CloudProxy.StatsD.Ingress;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.StatsD;

public static class StatsDServiceCollectionExtensions
{
    /// <summary>
    /// Registers the StatsD module for the roles this process runs: the ingress pieces with
    /// <c>statsd-ingress</c>, the forwarder (an <see cref="IEnvelopeHandler"/> for the topic) with
    /// <c>statsd-forwarder</c>. Options bind from <c>CloudProxy:StatsD</c> and are validated at start.
    /// </summary>
    public static CloudProxyBuilder AddStatsD(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var ingress = builder.Roles.Has(ServiceRoles.StatsDIngress);
        var forwarder = builder.Roles.Has(ServiceRoles.StatsDForwarder);
        if (!ingress && !forwarder)
        {
            return builder;
        }

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<StatsDOptions>().BindConfiguration(StatsDOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StatsDOptions>>(new StatsDOptionsValidator(ingress, forwarder)));

        if (ingress)
        {
            services.AddCors();
            services.AddOptions<CorsOptions>().Configure<IOptions<StatsDOptions>>((cors, statsd) => StatsDCors.Configure(cors, statsd.Value.Ingress));
            services.TryAddSingleton<StatsDSampler>();
            services.TryAddSingleton<StatsDCardinalityGuard>();
            services.TryAddSingleton<StatsDIngressMetrics>();
            services.TryAddSingleton<StatsDReplies>();
            services.TryAddSingleton<StatsDJwtValidator>();
            services.TryAddSingleton<StatsDCors>();
            services.TryAddSingleton<StatsDIngressHandler>();
        }

        if (forwarder)
        {
            services.TryAddSingleton(sp => new StatsDForwarderMetrics(
                sp.GetRequiredService<IMetricFactory>(),
                sp.GetRequiredService<IOptions<StatsDOptions>>().Value.Forwarder.Protocol));
            services.TryAddSingleton<StatsDForwarder>();
            services.AddSingleton<IEnvelopeHandler>(sp => sp.GetRequiredService<StatsDForwarder>());
        }

        return builder;
    }
}

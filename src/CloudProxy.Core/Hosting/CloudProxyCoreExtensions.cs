using CloudProxy.Core.Delivery;
using CloudProxy.Core.Embedded;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Options;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Status;
using CloudProxy.Core.Storage;
using CloudProxy.Core.Telemetry;
using CloudProxy.Core.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Prometheus;

namespace CloudProxy.Core.Hosting;

public static class CloudProxyCoreExtensions
{
    /// <summary>
    /// Registers the pipeline every broker-backed service shares: metrics registry, outbox, spool, pump, the
    /// embedded transport (a transport module may replace <see cref="IEnvelopePublisher"/>), status and tracing.
    /// </summary>
    public static CloudProxyBuilder AddCloudProxyCore(this IServiceCollection services, IConfiguration configuration, ServiceRoles roles, BuildInfo build)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(roles);
        services.AddSingleton(build);

        // One registry per host, so tests that run several hosts in one process see only their own numbers.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        services.AddSingleton(registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        if (string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // prometheus-net's default exemplar (trace and span id of Activity.Current) is built on EVERY Inc,
            // allocating two hex strings per counter per request on the ingress hot paths. With no trace exporter
            // this process records no spans for an exemplar to point at, so none are made.
            factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        }

        services.AddSingleton<IMetricFactory>(factory);
        services.AddSingleton<CoreMetrics>();

        services.AddSingleton<CoreOptionsValidator>();
        services.AddSingleton<IValidateOptions<OutboxOptions>>(sp => sp.GetRequiredService<CoreOptionsValidator>());
        services.AddSingleton<IValidateOptions<SpoolOptions>>(sp => sp.GetRequiredService<CoreOptionsValidator>());
        services.AddSingleton<IValidateOptions<TransportOptions>>(sp => sp.GetRequiredService<CoreOptionsValidator>());
        services.AddSingleton<IValidateOptions<DeferralOptions>>(sp => sp.GetRequiredService<CoreOptionsValidator>());
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section).ValidateOnStart();
        services.AddOptions<SpoolOptions>().BindConfiguration(SpoolOptions.Section)
            .PostConfigure(o => o.Path = DataDirectory.Or(configuration, o.Path, "spool"))
            .ValidateOnStart();
        services.AddOptions<TransportOptions>().BindConfiguration(TransportOptions.Section).ValidateOnStart();
        services.AddOptions<DeferralOptions>().BindConfiguration(DeferralOptions.Section).ValidateOnStart();
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section);

        // Every durable log of the process (outbox, deferrals, quarantine) under one folder and one disk bound.
        services.TryAddSingleton<LogStore>();
        services.TryAddSingleton<Quarantine>();
        services.TryAddSingleton<Deferrals>();
        services.TryAddSingleton<IDeferrals>(sp => sp.GetRequiredService<Deferrals>());
        services.TryAddSingleton<DeliveryGate>();
        services.TryAddSingleton<DurableOutbox>();
        services.TryAddSingleton<IOutbox>(sp => sp.GetRequiredService<DurableOutbox>());
        services.TryAddSingleton<IEnvelopePublisher, EmbeddedPublisher>();
        services.TryAddSingleton<OutboxPump>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxPump>());
        services.AddHostedService<DeferralPump>();
        services.TryAddSingleton<HealthState>();
        services.TryAddSingleton<StatusReport>();

        // Record and export spans only when a collector is named (OTEL_EXPORTER_OTLP_ENDPOINT); otherwise
        // only propagate the trace context into envelopes, which is far cheaper per request.
        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddSource(CloudProxyTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsHousekeeping(ctx.Request.Path.Value))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }
        else
        {
            services.AddHostedService<TraceContextPropagation>();
        }

        return new CloudProxyBuilder(services, configuration, roles);
    }

    /// <summary>Maps <c>/metrics</c>, <c>/_status</c>, <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static IEndpointRouteBuilder MapCloudProxyCore(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapMetrics("/metrics", app.ServiceProvider.GetRequiredService<CollectorRegistry>());
        // Created now, so that uptime counts from start-up rather than from the first /_status request.
        app.ServiceProvider.GetRequiredService<StatusReport>();
        app.MapStatusEndpoints();
        return app;
    }

    private static bool IsHousekeeping(string? path) =>
        path is "/metrics" or "/healthz" or "/readyz" or "/_status";
}

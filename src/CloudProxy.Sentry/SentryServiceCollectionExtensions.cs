using System.Net;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Transport;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Ingress;
using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Prometheus;

namespace CloudProxy.Sentry;

public static class SentryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Sentry module for the roles this process runs: the ingress handlers with
    /// <c>sentry-ingress</c>, the forwarder (an <see cref="IEnvelopeHandler"/> for the topic) and one
    /// resilient HttpClient per upstream with <c>sentry-forwarder</c>. Options bind from <c>CloudProxy:Sentry</c>
    /// and are validated at start. Call after <c>AddDaprTransport()</c> (the rate-limit sync uses its state store).
    /// </summary>
    public static CloudProxyBuilder AddSentry(this CloudProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var ingress = builder.Roles.Has(ServiceRoles.SentryIngress);
        var forwarder = builder.Roles.Has(ServiceRoles.SentryForwarder);
        if (!ingress && !forwarder)
        {
            return builder;
        }

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SentryOptions>().BindConfiguration(SentryOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SentryOptions>>(new SentryOptionsValidator(ingress, forwarder)));
        services.TryAddSingleton<SentryRateLimitTable>();
        services.AddSingleton(sp => new SentryStatusFields(sp.GetRequiredService<IMetricFactory>()));

        var configured = builder.Configuration.GetSection(SentryOptions.Section).Get<SentryOptions>() ?? new SentryOptions();
        var upstreams = SentryUpstream.Resolve(configured.Forwarder, []);
        var dapr = builder.Configuration.GetSection(TransportOptions.Section).Get<TransportOptions>()?.Kind == TransportKind.Dapr;
        if (ingress)
        {
            services.TryAddSingleton<SentryIngressMetrics>();
            services.TryAddSingleton<SentryReplies>();
            services.TryAddSingleton<SentryAdmission>();
            services.TryAddSingleton<SentryOutcomeReporter>();
            services.AddHostedService(sp => sp.GetRequiredService<SentryOutcomeReporter>());
            services.TryAddSingleton<SentryIngressHandler>();
            services.TryAddSingleton<SentryPassthrough>();
            services.AddHttpClient(SentryPassthrough.ClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
                .ConfigurePrimaryHttpMessageHandler(() => NewHandler(256, TimeSpan.FromSeconds(10)));
            if (dapr && !forwarder)
            {
                services.AddHostedService(sp => ActivatorUtilities.CreateInstance<SentryRateLimitSync>(sp, false));
            }
        }

        if (forwarder)
        {
            services.TryAddSingleton<SentryForwarderMetrics>();
            services.TryAddSingleton<SentryForwarder>();
            services.AddSingleton<IEnvelopeHandler>(sp => sp.GetRequiredService<SentryForwarder>());
            if (!SentryDuration.TryParse(configured.Forwarder.RequestTimeout, out var attempt) || attempt <= TimeSpan.Zero)
            {
                attempt = TimeSpan.FromSeconds(10); // the validator reports the bad value at start
            }

            foreach (var upstream in upstreams)
            {
                AddUpstreamClient(services, upstream, configured.Forwarder, attempt);
            }

            if (dapr && !ingress)
            {
                services.AddHostedService(sp => ActivatorUtilities.CreateInstance<SentryRateLimitSync>(sp, true));
            }
        }

        return builder;
    }

    private static void AddUpstreamClient(IServiceCollection services, SentryUpstream upstream, SentryForwarderOptions options, TimeSpan attempt)
    {
        var retries = Math.Clamp(options.MaxRetries, 0, 10);
        services.AddHttpClient(upstream.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => NewHandler(Math.Max(1, options.MaxConcurrency), attempt))
            // The factory's per-request log scope and messages cost on every envelope; outcomes are counted
            // in metrics and failures logged by the forwarder itself.
            .RemoveAllLoggers()
            .AddResilienceHandler(upstream.ClientName, pipeline =>
            {
                // Outer bound on one send with its retries, so a dead upstream cannot stall the batch for long.
                pipeline.AddTimeout(TimeSpan.FromTicks(Math.Min(attempt.Ticks * (retries + 1), TimeSpan.FromMinutes(10).Ticks)) + TimeSpan.FromSeconds(2 * retries));
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(retries, 1),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    // A 429 (and a 5xx naming Retry-After) is never retried here: the forwarder holds it until then.
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = args => ValueTask.FromResult(retries > 0 && IsTransient(args.Outcome)),
                });
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 20,
                    SamplingDuration = TimeSpan.FromSeconds(10),
                    BreakDuration = TimeSpan.FromSeconds(5),
                    ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                });
                pipeline.AddTimeout(attempt);
            });
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or Polly.Timeout.TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500 && response.Headers.RetryAfter is null,
        _ => false,
    };

    private static SocketsHttpHandler NewHandler(int connections, TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        UseProxy = false,
        MaxConnectionsPerServer = connections,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        // No W3C headers of ours on the wire to Sentry: the envelope's own trace travels in its payload.
        ActivityHeadersPropagator = null,
    };
}

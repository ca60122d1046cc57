using System.Net;
using CloudProxy.Core.Hosting;
using CloudProxy.ReverseProxy.Backpressure;
using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Observability;
using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// The proxy's own Kestrel server and pipeline, inside the host process. A separate server rather than
/// endpoints on the host's listener: YARP's catch-all routes would otherwise shadow every other module's routes
/// in <c>--services all</c>, and <c>RequireHost</c> cannot tell listeners apart (it matches the Host header a
/// client sends, not the port it connected to). The two pipelines share the host's singletons (metrics
/// registry, stores, window), so <c>/metrics</c> on the main listener shows the proxy's numbers.
/// </summary>
internal sealed partial class ReverseProxyServer(
    IServiceProvider services, IConfiguration configuration, IOptions<ReverseProxyOptions> options, ServiceRoles roles,
    IHostEnvironment environment, ILoggerFactory loggerFactory) : SideListener
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<ReverseProxyServer>();

    protected override string ListenSetting => ReverseProxyOptions.Section + ":Listen";

    protected override string ListenAddress => options.Value.Listen;

    protected override WebApplication? Build()
    {
        var o = options.Value;
        if (!ShouldStart(o))
        {
            Log.NotStarted(_logger);
            return null;
        }

        _ = ProxyListenAddress.TryParse(o.Listen, out var endpoint);
        return Build(o, endpoint);
    }

    protected override void OnStarted(Uri address) => Log.Listening(_logger, address);

    /// <summary>
    /// Named in <c>--services</c>: always. Implied by <c>all</c>: only with something to proxy (a route, a config
    /// file or <c>-proxy-url</c>), so running everything does not take port 8850 for a proxy with nowhere to go.
    /// </summary>
    private bool ShouldStart(ReverseProxyOptions o)
    {
        var named = (configuration["CloudProxy:Services"] ?? string.Empty)
            .Split(',', StringSplitOptions.TrimEntries).Contains(ServiceRoles.ReverseProxy, StringComparer.OrdinalIgnoreCase);
        return roles.Has(ServiceRoles.ReverseProxy) && (named || !string.IsNullOrEmpty(o.ProxyUrl) || !string.IsNullOrEmpty(o.ConfigFile)
            || configuration.GetSection(ReverseProxyOptions.Section + ":Routes").GetChildren().Any());
    }

    private WebApplication Build(ReverseProxyOptions o, IPEndPoint endpoint)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [], EnvironmentName = environment.EnvironmentName, ContentRootPath = environment.ContentRootPath,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        if (!string.IsNullOrEmpty(o.ConfigFile))
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(o.ConfigFile), optional: false, reloadOnChange: true);
        }

        ShareHostLogging(builder, loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endpoint));
        foreach (var shared in SharedServices)
        {
            builder.Services.AddSingleton(shared, services.GetRequiredService(shared));
        }

        // The proxy app's own: its background refreshes run this pipeline and end with it.
        builder.Services.AddSingleton<ProxyCacheRefresher>();

        var proxy = builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection(ReverseProxyOptions.Section));
        if (!string.IsNullOrEmpty(o.ConfigFile))
        {
            proxy.LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        }

        if (!string.IsNullOrEmpty(o.ProxyUrl))
        {
            var (routes, clusters) = ProxyQuickStart.Config(o);
            proxy.LoadFromMemory(routes, clusters);
        }

        proxy.AddConfigFilter<ProxyRouteMetadataFilter>();
        proxy.AddTransforms(ProxyRawPath.Add);
        if (o.B3)
        {
            // ASP.NET Core hosting extracts with the DI propagator; YARP injects with its client factory's.
            var b3 = new Tracing.ProxyB3Propagator();
            builder.Services.AddSingleton<System.Diagnostics.DistributedContextPropagator>(b3);
            builder.Services.AddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory>(new Tracing.ProxyForwarderHttpClientFactory(b3));
        }

        var app = builder.Build();
        app.UseMiddleware<ProxyRequestMetricsMiddleware>();
        if (o.Purge.Enabled)
        {
            // Before routing: no configured route (however it is ordered) can take the purge endpoint or PURGE.
            app.UseMiddleware<Purge.ProxyPurgeEndpoint>();
        }

        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<ProxyHeaderStripMiddleware>();
            // Order matters: hits are answered before the limiter unless they should use quota; jitter and the
            // window apply only to what really goes to the back end.
            // The limiter step is always present (it passes straight on for a route without a limit), so a
            // limit added to a route by a configuration reload applies at once.
            if (o.RateLimit.CountCacheHits)
            {
                pipeline.UseMiddleware<ProxyRateLimitMiddleware>();
            }

            pipeline.UseMiddleware<ProxyCacheMiddleware>();
            if (!o.RateLimit.CountCacheHits)
            {
                pipeline.UseMiddleware<ProxyRateLimitMiddleware>();
            }

            if (o.Jitter.MaxDelayMs > 0)
            {
                pipeline.UseMiddleware<ProxyJitterMiddleware>();
            }

            if (o.Backpressure.Enabled)
            {
                pipeline.UseMiddleware<ProxyBackpressureMiddleware>();
            }

            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }

    private static readonly Type[] SharedServices =
    [
        typeof(ProxyMetrics), typeof(ProxyCacheStore), typeof(ProxyCacheCoalescer), typeof(ProxyCacheFill), typeof(IProxyRateLimitStore), typeof(ProxyClientIdentity),
        typeof(ProxyCongestionWindow), typeof(TimeProvider), typeof(Random), typeof(IOptions<ReverseProxyOptions>),
        typeof(Purge.ProxyPurgeIndex), typeof(Purge.ProxyPurgeLog),
    ];

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.Listening, Level = LogLevel.Information, Message = "Reverse proxy listening on {Address}")]
        public static partial void Listening(ILogger logger, Uri address);

        [LoggerMessage(EventId = ReverseProxyEventIds.NotStarted, Level = LogLevel.Information,
            Message = "Reverse proxy not started: no routes, --proxy-config or -proxy-url (name reverse-proxy in --services to start it anyway)")]
        public static partial void NotStarted(ILogger logger);
    }
}

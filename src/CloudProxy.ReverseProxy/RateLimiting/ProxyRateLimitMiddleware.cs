using System.Globalization;
using CloudProxy.Core.Logging;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Step of YARP's proxy pipeline: one permit per request from the partition (route, client); refused requests
/// get 429 with Retry-After. Placed after the cache step unless cache hits should count, so hits cost no quota.
/// A failing shared store lets the request through (counted): an outage of Redis must not take the site down.
/// </summary>
public sealed partial class ProxyRateLimitMiddleware(
    RequestDelegate next, IProxyRateLimitStore store, ProxyClientIdentity identity, ProxyMetrics metrics,
    IOptions<ReverseProxyOptions> options, ILogger<ProxyRateLimitMiddleware> logger)
{
    private readonly ReverseProxyOptions _options = options.Value;
    private readonly LogThrottle _storeFailedLog = new();

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = ProxyRouteSettings.For(context.GetReverseProxyFeature().Route.Config, _options);
        if (route.RequestsPerMinute <= 0)
        {
            await next(context);
            return;
        }

        bool allowed;
        TimeSpan retryAfter;
        using (var span = Tracing.ProxySpans.Start("rate limit"))
        {
            var partition = route.RouteId + "|" + identity.KeyOf(context);
            try
            {
                (allowed, retryAfter) = await store.TryAcquireAsync(partition, new ProxyRateLimit(route.RequestsPerMinute, route.Burst, _options.RateLimit.Algorithm), context.RequestAborted);
            }
            catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
            {
                metrics.RateLimitStoreErrors.Inc();
                if (_storeFailedLog.ShouldLog(out var failures))
                {
                    Log.StoreFailed(logger, failures, ex);
                }

                (allowed, retryAfter) = (true, TimeSpan.Zero);
            }

            span?.SetTag("ratelimit.allowed", allowed);
        }

        if (allowed)
        {
            await next(context);
            return;
        }

        metrics.RateLimited.WithLabels(route.RouteId).Inc();
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"rate limit of {route.RequestsPerMinute} requests per minute exceeded for route {route.RouteId}\n", context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.RateLimitStoreFailed, Level = LogLevel.Warning, Message = "Rate-limit store failed {Count} time(s) since the last report; those requests were let through")]
        public static partial void StoreFailed(ILogger logger, long count, Exception exception);
    }
}

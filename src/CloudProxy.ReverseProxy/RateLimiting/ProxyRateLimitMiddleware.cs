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
/// get 429 with Retry-After. Allowed and refused responses carry the draft's <c>RateLimit-Policy</c> and
/// <c>RateLimit</c> fields from the limiter's state right after this request (<see cref="ProxyRateLimitHeaders"/>).
/// Placed after the cache step unless cache hits should count, so hits cost no quota (and carry no fields: they
/// changed nothing). A failing shared store lets the request through (counted): an outage of Redis must not
/// take the site down.
/// </summary>
internal sealed partial class ProxyRateLimitMiddleware(
    RequestDelegate next, IProxyRateLimitStore store, ProxyClientIdentity identity, ProxyMetrics metrics,
    IOptions<ReverseProxyOptions> options, ILogger<ProxyRateLimitMiddleware> logger)
{
    private readonly ReverseProxyOptions _options = options.Value;
    private readonly LogThrottle _storeFailedLog = new();

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = ProxyRouteSettings.For(context.GetReverseProxyFeature().Route.Config, _options);
        if (route.RequestsPerMinute <= 0 || ProxyBackgroundRequest.Is(context))
        {
            await next(context);
            return;
        }

        ProxyRateLimitDecision? decision;
        var limit = new ProxyRateLimit(route.RequestsPerMinute, route.Burst, _options.RateLimit.Algorithm);
        using (var span = Tracing.ProxySpans.Start("rate limit"))
        {
            var partition = route.RouteId + "|" + identity.KeyOf(context);
            try
            {
                decision = await store.TryAcquireAsync(partition, limit, context.RequestAborted);
            }
            catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
            {
                metrics.RateLimitStoreErrors.Inc();
                if (_storeFailedLog.ShouldLog(out var failures))
                {
                    Log.StoreFailed(logger, failures, ex);
                }

                decision = null;
            }

            span?.SetTag("ratelimit.allowed", decision?.Allowed ?? true);
        }

        if (decision is { } known && _options.RateLimit.Headers)
        {
            ProxyRateLimitHeaders.Write(context.Response.Headers, route.RouteId, limit, known);
        }

        if (decision is not { Allowed: false } refused)
        {
            await next(context);
            return;
        }

        metrics.RateLimited.WithLabels(route.RouteId).Inc();
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        // Never earlier than the RateLimit field's t (the draft asks Retry-After not to point before it).
        context.Response.Headers.RetryAfter = Math.Max(1, ProxyRateLimitHeaders.Seconds(refused.Reset)).ToString(CultureInfo.InvariantCulture);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"rate limit of {route.RequestsPerMinute} requests per minute exceeded for route {route.RouteId}\n", context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.RateLimitStoreFailed, Level = LogLevel.Warning, Message = "Rate-limit store failed {Count} time(s) since the last report; those requests were let through")]
        public static partial void StoreFailed(ILogger logger, long count, Exception exception);
    }
}

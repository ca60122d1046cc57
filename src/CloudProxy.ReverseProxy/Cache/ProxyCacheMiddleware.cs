using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// Step of YARP's proxy pipeline: answers from the cache when it can, otherwise lets the request through,
/// copying the streamed response aside to store it when the HTTP rules allow. <c>X-Cache</c> says which:
/// HIT (fresh), UPDATING (stale-while-revalidate: stale now, one refresh in the background), REVALIDATED (the
/// back end said 304 to the entry's validators), STALE (stale-if-error: the back end failed or said 5xx), MISS.
/// A client's matching If-None-Match/If-Modified-Since gets a 304 from the entry. One back-end trip per key at a
/// time; a store outage means pass-through.
/// </summary>
internal sealed class ProxyCacheMiddleware(
    RequestDelegate next, ProxyCacheStore store, ProxyCacheCoalescer coalescer, ProxyCacheFill fill, ProxyCacheRefresher refresher,
    Purge.ProxyPurgeIndex purges, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, TimeProvider time)
{
    public const string CacheHeader = ProxyCacheResponder.CacheHeader;

    private static readonly Func<object, Task> HideTags = state =>
    {
        var headers = ((HttpResponse)state).Headers;
        headers.Remove(ProxyCacheTags.SurrogateKey);
        headers.Remove(ProxyCacheTags.CacheTag);
        return Task.CompletedTask;
    };

    private readonly ReverseProxyOptions _options = options.Value;
    private readonly bool _hideTags = options.Value.Purge.Enabled;

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = ProxyRouteSettings.For(context.GetReverseProxyFeature().Route.Config, _options);
        if (_hideTags)
        {
            // The tags are the proxy's (for purges), as at Fastly and Cloudflare: not passed to clients.
            context.Response.OnStarting(HideTags, context.Response);
        }

        var request = ProxyCachePolicy.ForRequest(context.Request, route);
        if (!request.Lookup && !request.Store)
        {
            context.Response.Headers[CacheHeader] = "MISS";
            metrics.CacheLookups.WithLabels(route.RouteId, "bypass").Inc();
            metrics.CacheBypassed.WithLabels(ProxyCachePolicy.BypassReason(context.Request, route) ?? "revalidate").Inc();
            await next(context);
            return;
        }

        var key = ProxyCacheKey.For(context.Request);
        ProxyCacheCoalescer.Lease? lease = null;
        ProxyCachedResponse? stale;
        using (var span = Tracing.ProxySpans.Start("cache lookup"))
        {
            var (entry, use) = await LookupAsync(key, context.Request, request);
            if (use is not (ProxyCacheUse.Fresh or ProxyCacheUse.StaleAccepted or ProxyCacheUse.WhileRevalidate) && !request.OnlyIfCached)
            {
                // Missing or to be validated: one trip to the back end per key; the others wait and look again.
                (lease, var wait) = coalescer.Enter(key);
                if (wait is not null)
                {
                    metrics.CacheCoalesced.Inc();
                    await WaitQuietlyAsync(wait, context.RequestAborted);
                    (entry, use) = await LookupAsync(key, context.Request, request);
                }
            }

            span?.SetTag("cache.result", use?.ToString() ?? "miss");
            switch (use)
            {
                case ProxyCacheUse.Fresh or ProxyCacheUse.StaleAccepted:
                    lease?.Dispose();
                    await ServeAsync(context, route, entry!, "HIT", "hit");
                    return;
                case ProxyCacheUse.WhileRevalidate:
                    lease?.Dispose();
                    refresher.TryStart(context, next, route, key, entry!);
                    await ServeAsync(context, route, entry!, "UPDATING", "updating");
                    return;
            }

            stale = entry;
        }

        using (lease)
        {
            if (request.OnlyIfCached)
            {
                metrics.CacheLookups.WithLabels(route.RouteId, "only_if_cached").Inc();
                await ProxyCacheResponder.OnlyIfCachedAsync(context);
                return;
            }

            context.Response.Headers[CacheHeader] = "MISS";
            if (!request.Store)
            {
                metrics.CacheLookups.WithLabels(route.RouteId, "miss").Inc();
                await next(context);
                return;
            }

            var (result, refreshed) = await fill.RunAsync(context, next, route, key, stale);
            switch (result)
            {
                case FillResult.NotModified:
                    metrics.CacheRevalidations.WithLabels("inline", "not_modified").Inc();
                    ProxyCacheResponder.Reset(context.Response);
                    await ServeAsync(context, route, refreshed!, "REVALIDATED", "revalidated");
                    break;
                case FillResult.ServeStale:
                    metrics.CacheRevalidations.WithLabels("inline", "error").Inc();
                    ProxyCacheResponder.Reset(context.Response);
                    await ServeAsync(context, route, stale!, "STALE", "stale");
                    break;
                default:
                    if (stale is not null && (stale.ETag is not null || stale.LastModified is not null))
                    {
                        metrics.CacheRevalidations.WithLabels("inline", context.Response.StatusCode >= 500 ? "error" : "modified").Inc();
                    }

                    metrics.CacheLookups.WithLabels(route.RouteId, "miss").Inc();
                    break;
            }
        }
    }

    private async Task ServeAsync(HttpContext context, ProxyRouteSettings route, ProxyCachedResponse entry, string status, string result)
    {
        metrics.CacheLookups.WithLabels(route.RouteId, result).Inc();
        if (await ProxyCacheResponder.ServeAsync(context, entry, status, time.GetUtcNow().ToUnixTimeMilliseconds(), _hideTags))
        {
            metrics.CacheNotModified.WithLabels(route.RouteId).Inc();
        }
    }

    /// <summary>The entry for this request and how it may be used, honouring Vary: the primary key holds the latest variant, each variant also has its own key.</summary>
    private async Task<(ProxyCachedResponse? Entry, ProxyCacheUse? Use)> LookupAsync(string key, HttpRequest httpRequest, ProxyCacheRequest request)
    {
        if (!request.Lookup)
        {
            return (null, null);
        }

        var entry = await store.GetAsync(key, httpRequest.HttpContext.RequestAborted);
        if (entry is not null && entry.Vary.Count > 0 && ProxyCacheKey.VaryValues(entry.Vary, httpRequest) != entry.VaryValues)
        {
            entry = await store.GetAsync(ProxyCacheKey.Variant(key, entry.Vary, httpRequest), httpRequest.HttpContext.RequestAborted);
            if (entry is not null && ProxyCacheKey.VaryValues(entry.Vary, httpRequest) != entry.VaryValues)
            {
                entry = null;
            }
        }

        if (entry is not null && purges.IsPurged(entry))
        {
            metrics.CachePurged.Inc();
            entry = null;
        }

        return entry is null ? (null, null) : (entry, ProxyCacheFreshness.Use(entry, request, time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    private async Task WaitQuietlyAsync(Task wait, CancellationToken cancellationToken)
    {
        try
        {
            await wait.WaitAsync(TimeSpan.FromSeconds(_options.Cache.CoalesceWaitSeconds), time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The other fetch is slow: fetch on our own rather than wait longer.
        }
    }
}

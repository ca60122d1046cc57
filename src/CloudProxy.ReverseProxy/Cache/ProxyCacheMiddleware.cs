using System.Globalization;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// Step of YARP's proxy pipeline: answers from the cache when it can (<c>X-Cache: HIT</c>), otherwise lets the
/// request through (<c>X-Cache: MISS</c>), copying the streamed response aside to store it when the HTTP rules
/// allow. One fetch per key at a time; a store outage means pass-through.
/// </summary>
public sealed class ProxyCacheMiddleware(
    RequestDelegate next, ProxyCacheStore store, ProxyCacheCoalescer coalescer, ProxyMetrics metrics,
    IOptions<ReverseProxyOptions> options, TimeProvider time)
{
    public const string CacheHeader = "X-Cache";

    private readonly ReverseProxyOptions _options = options.Value;

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = ProxyRouteSettings.For(context.GetReverseProxyFeature().Route.Config, _options);
        var decision = ProxyCachePolicy.ForRequest(context.Request, route);
        if (!decision.Lookup && !decision.Store)
        {
            context.Response.Headers[CacheHeader] = "MISS";
            metrics.CacheLookups.WithLabels(route.RouteId, "bypass").Inc();
            metrics.CacheBypassed.WithLabels(ProxyCachePolicy.BypassReason(context.Request, route) ?? "revalidate").Inc();
            await next(context);
            return;
        }

        var key = ProxyCacheKey.For(context.Request);
        ProxyCacheCoalescer.Lease? lease = null;
        if (decision.Lookup)
        {
            using (var span = Tracing.ProxySpans.Start("cache lookup"))
            {
                var entry = await LookupAsync(key, context.Request, context.RequestAborted);
                if (entry is null)
                {
                    (lease, var wait) = coalescer.Enter(key);
                    if (wait is not null)
                    {
                        metrics.CacheCoalesced.Inc();
                        await WaitQuietlyAsync(wait, context.RequestAborted);
                        entry = await LookupAsync(key, context.Request, context.RequestAborted);
                    }
                }

                span?.SetTag("cache.result", entry is null ? "miss" : "hit");
                if (entry is not null)
                {
                    metrics.CacheLookups.WithLabels(route.RouteId, "hit").Inc();
                    await ServeAsync(context, entry);
                    return;
                }
            }
        }

        metrics.CacheLookups.WithLabels(route.RouteId, decision.Lookup ? "miss" : "bypass").Inc();
        using (lease)
        {
            context.Response.Headers[CacheHeader] = "MISS";
            if (!decision.Store)
            {
                await next(context);
                return;
            }

            await FetchAndStoreAsync(context, route, key);
        }
    }

    private async Task FetchAndStoreAsync(HttpContext context, ProxyRouteSettings route, string key)
    {
        var original = context.Response.Body;
        var tee = new ProxyTeeStream(original, route.MaxEntryBytes, () => ProxyCachePolicy.ForResponse(context.Response, route, time).Reason is null);
        context.Response.Body = tee;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        var (ttl, reason) = ProxyCachePolicy.ForResponse(context.Response, route, time);
        var body = tee.Captured;
        if (reason is null && body is null)
        {
            reason = "too_large";
        }

        if (reason is null && (context.RequestAborted.IsCancellationRequested
            || (context.Response.ContentLength is { } length && length != tee.BytesWritten)))
        {
            reason = "incomplete";
        }

        if (reason is not null)
        {
            metrics.CacheNotStored.WithLabels(reason).Inc();
            return;
        }

        var vary = ProxyCachePolicy.VaryHeaders(context.Response);
        var varyValues = vary.Count == 0 ? string.Empty : ProxyCacheKey.VaryValues(vary, context.Request);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var entry = ProxyCachedResponse.From(context.Response, body!.Value, now, now + (long)ttl.TotalMilliseconds, vary, varyValues);

        // Stored before the request completes, so requests waiting on this key find it when they look again.
        await store.SetAsync(key, entry, ttl, CancellationToken.None);
        if (vary.Count > 0)
        {
            await store.SetAsync(ProxyCacheKey.Variant(key, vary, context.Request), entry, ttl, CancellationToken.None);
        }

        metrics.CacheStored.WithLabels(route.RouteId).Inc();
    }

    /// <summary>The entry for this request, honouring Vary: the primary key holds the latest variant, each variant also has its own key.</summary>
    private async Task<ProxyCachedResponse?> LookupAsync(string key, HttpRequest request, CancellationToken cancellationToken)
    {
        var entry = await store.GetAsync(key, cancellationToken);
        if (entry is not null && entry.Vary.Count > 0 && ProxyCacheKey.VaryValues(entry.Vary, request) != entry.VaryValues)
        {
            entry = await store.GetAsync(ProxyCacheKey.Variant(key, entry.Vary, request), cancellationToken);
            if (entry is not null && ProxyCacheKey.VaryValues(entry.Vary, request) != entry.VaryValues)
            {
                entry = null;
            }
        }

        return entry is not null && entry.ExpiresAtUnixMs > time.GetUtcNow().ToUnixTimeMilliseconds() ? entry : null;
    }

    private async Task ServeAsync(HttpContext context, ProxyCachedResponse entry)
    {
        var response = context.Response;
        response.StatusCode = entry.StatusCode;
        foreach (var (name, values) in entry.Headers)
        {
            response.Headers[name] = values;
        }

        var age = Math.Max(0, (time.GetUtcNow().ToUnixTimeMilliseconds() - entry.StoredAtUnixMs) / 1000);
        response.Headers.Age = age.ToString(CultureInfo.InvariantCulture);
        response.Headers[CacheHeader] = "HIT";
        response.ContentLength = entry.Body.Length;
        if (!HttpMethods.IsHead(context.Request.Method) && entry.Body.Length > 0)
        {
            await response.Body.WriteAsync(entry.Body, context.RequestAborted);
        }
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

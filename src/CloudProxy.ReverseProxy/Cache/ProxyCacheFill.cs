using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>How a trip to the back end ended for the cache.</summary>
internal enum FillResult
{
    /// <summary>The back end's answer went to the client (and was stored when allowed).</summary>
    Passed = 0,

    /// <summary>The back end said 304 to the stored entry's validators: the refreshed entry is to be served.</summary>
    NotModified = 1,

    /// <summary>The back end failed or said 5xx within the entry's stale-if-error window: the stale entry is to be served.</summary>
    ServeStale = 2,
}

/// <summary>
/// One trip to the back end on behalf of the cache, for a client's request or a background refresh: with the
/// stored entry's validators when there is one (replacing the client's own, which the cache then answers
/// itself), judging the answer at its head (<see cref="ProxyTeeStream"/>): a 304 to our validators refreshes
/// the entry, a failure or 5xx within stale-if-error is covered by the stale entry, anything else streams on
/// and is stored when the HTTP rules allow (replacing the stale entry, or deleting it when the new answer may
/// not be stored).
/// </summary>
internal sealed class ProxyCacheFill(ProxyCacheStore store, ProxyMetrics metrics, TimeProvider time, Purge.ProxyPurgeIndex purges)
{
    public async Task<(FillResult Result, ProxyCachedResponse? Entry)> RunAsync(
        HttpContext context, RequestDelegate next, ProxyRouteSettings route, string key, ProxyCachedResponse? stale)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(route);
        var request = context.Request;
        var validated = stale is not null && (stale.ETag is not null || stale.LastModified is not null);
        var clientConditions = validated ? SwapConditions(request, stale!) : null;

        var original = context.Response.Body;

        // Read at the head: the tag fields are taken off the response before it leaves when purging is on.
        IReadOnlyList<string>? tags = null;
        var tee = new ProxyTeeStream(original, route.MaxEntryBytes, () =>
        {
            tags = ProxyCacheTags.Of(context.Response.Headers);
            return Judge(context, route, stale, validated);
        });
        context.Response.Body = tee;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
            if (clientConditions is not null)
            {
                foreach (var (name, value) in clientConditions)
                {
                    request.Headers[name] = value;
                }
            }
        }

        var decision = tee.Decide();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (decision == TeeDecision.Swallow)
        {
            if (context.Response.StatusCode != StatusCodes.Status304NotModified)
            {
                return (FillResult.ServeStale, stale);
            }

            var refreshed = await RefreshAsync(context, route, key, stale!, now);
            return (FillResult.NotModified, refreshed);
        }

        var response = context.Response;
        var (lifetime, reason) = ProxyCachePolicy.ForResponse(response, route);
        if (reason is null && tags is null)
        {
            reason = "tags";
        }

        var body = tee.Captured;
        if (reason is null && body is null)
        {
            reason = decision == TeeDecision.Pass ? "not_copied" : "too_large";
        }

        if (reason is null && (context.RequestAborted.IsCancellationRequested
            || (response.ContentLength is { } length && length != tee.BytesWritten)
            || context.Features.Get<IForwarderErrorFeature>() is not null))
        {
            reason = "incomplete";
        }

        if (reason is not null)
        {
            metrics.CacheNotStored.WithLabels(reason).Inc();

            // The back end answered afresh and that answer may not be stored: the old one must not be served again.
            // (Not for answers of the proxy's own, such as the limiter's 429: they say nothing about the entry.)
            var fromBackend = context.Features.Get<Yarp.ReverseProxy.Model.IReverseProxyFeature>()?.ProxiedDestination is not null;
            if (stale is not null && fromBackend && response.StatusCode < 500 && response.StatusCode != StatusCodes.Status304NotModified)
            {
                await DeleteAsync(key, stale, request);
            }

            return (FillResult.Passed, null);
        }

        var vary = ProxyCachePolicy.VaryHeaders(response);
        var varyValues = vary.Count == 0 ? string.Empty : ProxyCacheKey.VaryValues(vary, request);
        var entry = ProxyCachedResponse.Create(response.StatusCode, response.Headers, body!.Value, now, lifetime, vary, varyValues,
            ProxyCacheKey.PurgeUrl(request), tags!);
        await StoreAsync(key, entry, lifetime.Retention, request);
        metrics.CacheStored.WithLabels(route.RouteId).Inc();
        return (FillResult.Passed, entry);
    }

    /// <summary>Stored under the primary key (the latest variant) and, for a Vary-ing response, under its variant key.</summary>
    public async Task StoreAsync(string key, ProxyCachedResponse entry, TimeSpan retention, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(request);

        // Never longer than purges are remembered, or a purged entry could come back once its purge is forgotten.
        if (retention > purges.Remember)
        {
            retention = purges.Remember;
        }

        // Stored before the request completes, so requests waiting on this key find it when they look again.
        await store.SetAsync(key, entry, retention, CancellationToken.None);
        if (entry.Vary.Count > 0)
        {
            await store.SetAsync(ProxyCacheKey.Variant(key, entry.Vary, request), entry, retention, CancellationToken.None);
        }
    }

    private async Task DeleteAsync(string key, ProxyCachedResponse stale, HttpRequest request)
    {
        await store.DeleteAsync(key, CancellationToken.None);
        if (stale.Vary.Count > 0)
        {
            await store.DeleteAsync(ProxyCacheKey.Variant(key, stale.Vary, request), CancellationToken.None);
        }
    }

    private async Task<ProxyCachedResponse> RefreshAsync(HttpContext context, ProxyRouteSettings route, string key, ProxyCachedResponse stale, long now)
    {
        var headers = context.Response.Headers;
        var merged = stale.MergedHeaders(headers);
        var (lifetime, reason) = ProxyCachePolicy.ForResponse(stale.StatusCode, merged, route);
        var tags = ProxyCacheTags.Of(merged);
        var refreshed = stale.Refreshed(headers, now, lifetime, tags ?? stale.Tags);
        if (reason is null && tags is not null)
        {
            await StoreAsync(key, refreshed, lifetime.Retention, context.Request);
            metrics.CacheStored.WithLabels(route.RouteId).Inc();
        }
        else
        {
            // Validated for this request, but the back end no longer lets it be stored.
            metrics.CacheNotStored.WithLabels(reason ?? "tags").Inc();
            await DeleteAsync(key, stale, context.Request);
        }

        return refreshed;
    }

    /// <summary>The answer's fate, once its head is final.</summary>
    private TeeDecision Judge(HttpContext context, ProxyRouteSettings route, ProxyCachedResponse? stale, bool validated)
    {
        var response = context.Response;
        var status = response.StatusCode;
        if (validated && status == StatusCodes.Status304NotModified)
        {
            return TeeDecision.Swallow;
        }

        if (stale is not null && status >= 500 && ProxyCacheFreshness.ServesOnError(stale, time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            return TeeDecision.Swallow;
        }

        return HttpMethods.IsGet(context.Request.Method) && ProxyCachePolicy.ForResponse(response, route).Reason is null
            ? TeeDecision.PassAndCopy : TeeDecision.Pass;
    }

    /// <summary>Puts the stored entry's validators in place of the client's conditionals; returns the client's, to put back.</summary>
    private static List<(string Name, StringValues Value)> SwapConditions(HttpRequest request, ProxyCachedResponse stale)
    {
        var saved = new List<(string, StringValues)>();
        foreach (var name in ProxyConditional.RequestHeaders)
        {
            saved.Add((name, request.Headers[name]));
            request.Headers.Remove(name);
        }

        if (stale.ETag is { } etag)
        {
            request.Headers[HeaderNames.IfNoneMatch] = etag;
        }

        if (stale.LastModified is { } modified)
        {
            request.Headers[HeaderNames.IfModifiedSince] = modified;
        }

        return saved;
    }
}

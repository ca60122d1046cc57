using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>Writes an answer from the cache: the stored response, a 304 to a client's matching conditional, or the 504 of only-if-cached.</summary>
internal static class ProxyCacheResponder
{
    public const string CacheHeader = "X-Cache";

    /// <summary>The fields a 304 carries from the stored response (RFC 9110 §15.4.5), plus Last-Modified.</summary>
    private static readonly string[] NotModifiedFields =
    [
        HeaderNames.CacheControl, HeaderNames.ContentLocation, HeaderNames.Date, HeaderNames.ETag, HeaderNames.Expires, HeaderNames.Vary,
        HeaderNames.LastModified,
    ];

    /// <param name="status">The <c>X-Cache</c> value: HIT, UPDATING (stale while a refresh runs), STALE (stale for a failed back end), REVALIDATED.</param>
    /// <param name="hideTags">Leave out <c>Surrogate-Key</c>/<c>Cache-Tag</c> (they are for the proxy's purges, as Fastly and Cloudflare keep them).</param>
    /// <returns>True when the answer was a 304.</returns>
    public static async Task<bool> ServeAsync(HttpContext context, ProxyCachedResponse entry, string status, long nowUnixMs, bool hideTags)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(entry);
        var response = context.Response;
        var age = Math.Max(0, (nowUnixMs - entry.StoredAtUnixMs) / 1000).ToString(CultureInfo.InvariantCulture);
        if (ProxyConditional.NotModified(context.Request, entry))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            foreach (var name in NotModifiedFields)
            {
                if (entry.Header(name) is not null)
                {
                    response.Headers[name] = Values(entry, name);
                }
            }

            response.Headers.Age = age;
            response.Headers[CacheHeader] = status;
            return true;
        }

        response.StatusCode = entry.StatusCode;
        foreach (var (name, values) in entry.Headers)
        {
            if (!(hideTags && IsTagHeader(name)))
            {
                response.Headers[name] = values;
            }
        }

        response.Headers.Age = age;
        response.Headers[CacheHeader] = status;
        response.ContentLength = entry.Body.Length;
        if (!HttpMethods.IsHead(context.Request.Method) && entry.Body.Length > 0)
        {
            await response.Body.WriteAsync(entry.Body, context.RequestAborted);
        }

        return false;
    }

    /// <summary>RFC 9111 §5.2.1.7: only-if-cached and nothing usable stored.</summary>
    public static Task OnlyIfCachedAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
        context.Response.Headers[CacheHeader] = "MISS";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("only-if-cached: no stored response may answer this request\n", context.RequestAborted);
    }

    /// <summary>Clears a response that has not started, keeping the fields steps before the cache set for this request (the limiter's).</summary>
    public static void Reset(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var policy = response.Headers[RateLimiting.ProxyRateLimitHeaders.Policy];
        var state = response.Headers[RateLimiting.ProxyRateLimitHeaders.State];
        response.Clear();
        if (!StringValues.IsNullOrEmpty(state))
        {
            response.Headers[RateLimiting.ProxyRateLimitHeaders.Policy] = policy;
            response.Headers[RateLimiting.ProxyRateLimitHeaders.State] = state;
        }
    }

    public static bool IsTagHeader(string name) =>
        string.Equals(name, ProxyCacheTags.SurrogateKey, StringComparison.OrdinalIgnoreCase) || string.Equals(name, ProxyCacheTags.CacheTag, StringComparison.OrdinalIgnoreCase);

    private static StringValues Values(ProxyCachedResponse entry, string name) =>
        new(entry.Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToArray());
}

using System.Globalization;
using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// How long a stored response is fresh, how long it may then be served stale (RFC 5861), how long it is kept
/// for revalidation, and whether it must be validated before any reuse once stale.
/// </summary>
internal readonly record struct ProxyCacheLifetime(TimeSpan Fresh, TimeSpan WhileRevalidate, TimeSpan IfError, TimeSpan Keep, bool MustRevalidate)
{
    /// <summary>How long the store keeps the entry: its freshness plus the longest use it has after.</summary>
    public TimeSpan Retention => Fresh + TimeSpan.FromTicks(Math.Max(WhileRevalidate.Ticks, Math.Max(IfError.Ticks, Keep.Ticks)));
}

/// <summary>
/// The HTTP caching rules (RFC 9111, RFC 5861) a shared cache applies, as plain functions of the request and
/// response headers. ASP.NET Core's output cache does not honour the response's Cache-Control, Expires or Vary
/// (its policies decide instead), which an HTTP-correct proxy cache must: hence this small component.
/// </summary>
internal static class ProxyCachePolicy
{
    /// <summary>Statuses a cache may store without explicit permission (RFC 9110 §15.1), 206 excluded (no range support).</summary>
    private static readonly HashSet<int> CacheableStatuses = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

    public static ProxyCacheRequest ForRequest(HttpRequest request, ProxyRouteSettings route)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(route);
        if (BypassReason(request, route) is not null)
        {
            return default;
        }

        var cacheControl = request.Headers.CacheControl;
        var maxAge = Seconds(cacheControl, "max-age");

        // no-cache / max-age=0 / Pragma: no-cache: a stored answer may be used only once the back end validates it.
        var noCache = HasDirective(cacheControl, "no-cache") || maxAge is 0
            || (cacheControl.Count == 0 && request.Headers.Pragma.Any(p => p?.Contains("no-cache", StringComparison.OrdinalIgnoreCase) == true));
        return new ProxyCacheRequest
        {
            Lookup = true,
            Store = HttpMethods.IsGet(request.Method),
            NoCache = noCache,
            MaxAge = maxAge,
            MinFresh = Seconds(cacheControl, "min-fresh"),
            MaxStale = HasDirective(cacheControl, "max-stale") ? Seconds(cacheControl, "max-stale") ?? double.PositiveInfinity : null,
            OnlyIfCached = HasDirective(cacheControl, "only-if-cached"),
        };
    }

    /// <summary>
    /// Why the cache must stay out of this request altogether (neither look up nor store), or null. Besides the
    /// method: <c>Authorization</c> and <c>Cookie</c> (the answer may be personal: a back end that echoes a
    /// session but forgets <c>private</c> would hand it to the next anonymous client), unless the route allows
    /// them; a body on a GET (the key has no body, so another client would get the answer to it); request
    /// <c>no-store</c>.
    /// </summary>
    public static string? BypassReason(HttpRequest request, ProxyRouteSettings route)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(route);
        if (!route.CacheEnabled)
        {
            return "disabled";
        }

        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            return "method";
        }

        if (request.Headers.ContainsKey(HeaderNames.Authorization) && !route.AllowAuthorization)
        {
            return "authorization";
        }

        if (request.Headers.ContainsKey(HeaderNames.Cookie) && !route.AllowCookie)
        {
            return "cookie";
        }

        if (request.ContentLength > 0 || request.Headers.ContainsKey(HeaderNames.TransferEncoding))
        {
            return "request_body";
        }

        return HasDirective(request.Headers.CacheControl, "no-store") ? "no_store" : null;
    }

    public static (ProxyCacheLifetime Lifetime, string? Reason) ForResponse(HttpResponse response, ProxyRouteSettings route)
    {
        ArgumentNullException.ThrowIfNull(response);
        return ForResponse(response.StatusCode, response.Headers, route);
    }

    /// <summary>
    /// How long a response may be used from the cache, or a reason it must not be stored. A response with a
    /// validator may be stored with no freshness at all (<c>no-cache</c>, <c>max-age=0</c>): it is then
    /// validated with the back end before each use, which still saves sending its body.
    /// </summary>
    public static (ProxyCacheLifetime Lifetime, string? Reason) ForResponse(int status, IHeaderDictionary headers, ProxyRouteSettings route)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(route);
        if (!CacheableStatuses.Contains(status))
        {
            return (default, "status");
        }

        var cacheControl = headers.CacheControl;
        if (HasDirective(cacheControl, "no-store"))
        {
            return (default, "no_store");
        }

        if (HasDirective(cacheControl, "private"))
        {
            return (default, "private");
        }

        var validator = HasValidator(headers);

        // no-cache: stored only to be validated before each use, which needs something to validate with.
        var noCache = HasDirective(cacheControl, "no-cache");
        if (noCache && !validator)
        {
            return (default, "no_cache");
        }

        if (headers.ContainsKey(HeaderNames.SetCookie) && !route.AllowSetCookie)
        {
            return (default, "set_cookie");
        }

        if (VaryHeaders(headers).Contains("*"))
        {
            return (default, "vary_star");
        }

        double? lifetime = Seconds(cacheControl, "s-maxage") ?? Seconds(cacheControl, "max-age") ?? ExpiresLifetime(headers);
        lifetime ??= route.DefaultTtlSeconds > 0 ? route.DefaultTtlSeconds : null;
        if (lifetime is null && !noCache)
        {
            return (default, "no_freshness");
        }

        var age = double.TryParse(headers.Age.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 0;
        var fresh = noCache ? 0 : Math.Max(0, Math.Min(lifetime!.Value, route.MaxTtlSeconds) - age);

        // Never stale without validation: no-cache, must-revalidate, proxy-revalidate (RFC 9111 §4.2.4). An explicit
        // stale-while-revalidate or stale-if-error beside s-maxage is honoured (see docs/designs/reverse-proxy.md).
        var mustRevalidate = noCache || HasDirective(cacheControl, "must-revalidate") || HasDirective(cacheControl, "proxy-revalidate");
        var whileRevalidate = mustRevalidate ? 0 : Math.Min(route.MaxStaleSeconds, Seconds(cacheControl, "stale-while-revalidate") ?? route.StaleWhileRevalidateSeconds);
        var ifError = mustRevalidate ? 0 : Math.Min(route.MaxStaleSeconds, Seconds(cacheControl, "stale-if-error") ?? route.StaleIfErrorSeconds);
        var keep = validator ? route.KeepSeconds : 0;
        var result = new ProxyCacheLifetime(TimeSpan.FromSeconds(fresh), TimeSpan.FromSeconds(whileRevalidate), TimeSpan.FromSeconds(ifError),
            TimeSpan.FromSeconds(keep), mustRevalidate);
        return result.Retention <= TimeSpan.Zero ? (default, "no_freshness") : (result, null);
    }

    /// <summary>An <c>ETag</c> or <c>Last-Modified</c>: what a conditional request can validate the stored response with.</summary>
    public static bool HasValidator(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return !StringValues.IsNullOrEmpty(headers.ETag) || !StringValues.IsNullOrEmpty(headers.LastModified);
    }

    /// <summary>The header names of the response's Vary, trimmed, in their order.</summary>
    public static IReadOnlyList<string> VaryHeaders(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return VaryHeaders(response.Headers);
    }

    public static IReadOnlyList<string> VaryHeaders(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var names = new List<string>();
        foreach (var value in headers.Vary)
        {
            foreach (var name in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                names.Add(name);
            }
        }

        return names;
    }

    private static double? ExpiresLifetime(IHeaderDictionary headers)
    {
        if (!HeaderUtilities.TryParseDate(headers.Expires.ToString(), out var expires))
        {
            // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
            return headers.ContainsKey(HeaderNames.Expires) ? 0 : null;
        }

        if (!HeaderUtilities.TryParseDate(headers.Date.ToString(), out var date))
        {
            return null;
        }

        return (expires - date).TotalSeconds;
    }

    internal static bool HasDirective(StringValues cacheControl, string directive)
    {
        foreach (var value in cacheControl)
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var name = part.AsSpan();
                var eq = name.IndexOf('=');
                if (eq >= 0)
                {
                    name = name[..eq].TrimEnd();
                }

                if (name.Equals(directive, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    internal static double? Seconds(StringValues cacheControl, string directive)
    {
        foreach (var value in cacheControl)
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && part.AsSpan(0, eq).Trim().Equals(directive, StringComparison.OrdinalIgnoreCase)
                    && double.TryParse(part.AsSpan(eq + 1).Trim().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return seconds;
                }
            }
        }

        return null;
    }
}

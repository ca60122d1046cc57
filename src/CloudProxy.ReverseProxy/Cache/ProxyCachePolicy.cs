using System.Globalization;
using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>What the request allows: look the key up, store the response, both, or neither.</summary>
public readonly record struct CacheRequestDecision(bool Lookup, bool Store);

/// <summary>
/// The HTTP caching rules (RFC 9111) a shared cache applies, as plain functions of the request and response
/// headers. ASP.NET Core's output cache does not honour the response's Cache-Control, Expires or Vary (its
/// policies decide instead), which an HTTP-correct proxy cache must: hence this small component.
/// </summary>
public static class ProxyCachePolicy
{
    /// <summary>Statuses a cache may store without explicit permission (RFC 9110 §15.1), 206 excluded (no range support).</summary>
    private static readonly HashSet<int> CacheableStatuses = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

    public static CacheRequestDecision ForRequest(HttpRequest request, ProxyRouteSettings route)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(route);
        if (BypassReason(request, route) is not null)
        {
            return default;
        }

        var cacheControl = request.Headers.CacheControl;

        // no-cache / max-age=0 ask for a fresh answer: go to the back end, but its answer may refresh the entry.
        var revalidate = HasDirective(cacheControl, "no-cache")
            || (Seconds(cacheControl, "max-age") is 0)
            || (cacheControl.Count == 0 && request.Headers.Pragma.Any(p => p?.Contains("no-cache", StringComparison.OrdinalIgnoreCase) == true));
        return new CacheRequestDecision(Lookup: !revalidate, Store: HttpMethods.IsGet(request.Method));
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

    /// <summary>How long the response may be served from the cache, or a reason it must not be stored.</summary>
    public static (TimeSpan Ttl, string? Reason) ForResponse(HttpResponse response, ProxyRouteSettings route, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(time);
        if (!CacheableStatuses.Contains(response.StatusCode))
        {
            return (TimeSpan.Zero, "status");
        }

        var cacheControl = response.Headers.CacheControl;
        if (HasDirective(cacheControl, "no-store"))
        {
            return (TimeSpan.Zero, "no_store");
        }

        if (HasDirective(cacheControl, "private"))
        {
            return (TimeSpan.Zero, "private");
        }

        // no-cache allows storing only with revalidation before each use; this cache does not revalidate.
        if (HasDirective(cacheControl, "no-cache"))
        {
            return (TimeSpan.Zero, "no_cache");
        }

        if (response.Headers.ContainsKey(HeaderNames.SetCookie) && !route.AllowSetCookie)
        {
            return (TimeSpan.Zero, "set_cookie");
        }

        if (VaryHeaders(response).Contains("*"))
        {
            return (TimeSpan.Zero, "vary_star");
        }

        double? lifetime = Seconds(cacheControl, "s-maxage") ?? Seconds(cacheControl, "max-age") ?? ExpiresLifetime(response);
        lifetime ??= route.DefaultTtlSeconds > 0 ? route.DefaultTtlSeconds : null;
        if (lifetime is null)
        {
            return (TimeSpan.Zero, "no_freshness");
        }

        var age = double.TryParse(response.Headers.Age.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 0;
        var ttl = Math.Min(lifetime.Value, route.MaxTtlSeconds) - age;
        return ttl <= 0 ? (TimeSpan.Zero, "no_freshness") : (TimeSpan.FromSeconds(ttl), null);
    }

    /// <summary>The header names of the response's Vary, trimmed, in their order.</summary>
    public static IReadOnlyList<string> VaryHeaders(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var names = new List<string>();
        foreach (var value in response.Headers.Vary)
        {
            foreach (var name in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                names.Add(name);
            }
        }

        return names;
    }

    private static double? ExpiresLifetime(HttpResponse response)
    {
        if (!HeaderUtilities.TryParseDate(response.Headers.Expires.ToString(), out var expires))
        {
            // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
            return response.Headers.ContainsKey(HeaderNames.Expires) ? 0 : null;
        }

        if (!HeaderUtilities.TryParseDate(response.Headers.Date.ToString(), out var date))
        {
            return null;
        }

        return (expires - date).TotalSeconds;
    }

    internal static bool HasDirective(Microsoft.Extensions.Primitives.StringValues cacheControl, string directive)
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

    internal static double? Seconds(Microsoft.Extensions.Primitives.StringValues cacheControl, string directive)
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

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// The cache key: method, host, path and the query with its parameters in a normalized order, so
/// <c>?b=2&amp;a=1</c> and <c>?a=1&amp;b=2</c> are one entry. HEAD shares GET's key (RFC 9110 §9.3.2: a HEAD
/// response is a GET response without the body). Long keys are hashed so an absurd URL cannot make an absurd
/// store key.
/// </summary>
internal static class ProxyCacheKey
{
    private const int MaxPlainLength = 512;
    private const string Prefix = "cloudproxy:rp:";

    public static string For(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder(128);
        text.Append("GET ");
        text.Append(request.Scheme).Append("://").Append(request.Host.Value?.ToLowerInvariant());
        if (Hosting.ProxyRawPath.Of(request.HttpContext) is { } raw)
        {
            // Forwarded as sent (an encoded slash): /a%2Fb and /a%252Fb are one decoded path but two back-end paths.
            text.Append("raw:").Append(raw);
        }
        else
        {
            text.Append(request.PathBase.Value).Append(request.Path.Value);
        }

        if (request.QueryString.HasValue)
        {
            text.Append('?').Append(NormalizeQuery(request.QueryString.Value!));
        }

        return Finish(text.ToString());
    }

    /// <summary>
    /// The URL purges name an entry by: the path as the back end gets it (decoded, but for an encoded slash
    /// forwarded raw) and the normalized query, without scheme or host (a purge applies to every host).
    /// </summary>
    public static string PurgeUrl(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = Hosting.ProxyRawPath.Of(request.HttpContext) ?? (request.PathBase.Value + request.Path.Value);
        return request.QueryString.HasValue ? path + "?" + NormalizeQuery(request.QueryString.Value!) : path;
    }

    /// <summary>The key of one variant of a <c>Vary</c>ing response: the primary key plus the request's values of the varied headers.</summary>
    public static string Variant(string primaryKey, IReadOnlyList<string> varyHeaders, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(varyHeaders);
        ArgumentNullException.ThrowIfNull(request);
        return Finish(primaryKey + "|vary|" + VaryValues(varyHeaders, request));
    }

    /// <summary>The request's values of the varied headers, normalized (names lower case, values trimmed), one per line.</summary>
    public static string VaryValues(IReadOnlyList<string> varyHeaders, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(varyHeaders);
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder();
        foreach (var name in varyHeaders)
        {
            text.Append(name.ToLowerInvariant()).Append(':');
            text.AppendJoin(',', request.Headers[name].Select(v => v?.Trim()));
            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Parameters sorted by name then value (ordinal), each re-encoded the same way whatever the client sent.</summary>
    public static string NormalizeQuery(string query)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in QueryHelpers.ParseNullableQuery(query) ?? [])
        {
            foreach (var value in values)
            {
                pairs.Add(new(name, value ?? string.Empty));
            }
        }

        pairs.Sort((a, b) =>
        {
            var byName = string.CompareOrdinal(a.Key, b.Key);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        return string.Join('&', pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
    }

    private static string Finish(string key)
    {
        if (key.Length <= MaxPlainLength)
        {
            return Prefix + key;
        }

        return Prefix + "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }
}

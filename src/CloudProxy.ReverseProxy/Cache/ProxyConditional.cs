using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// A client's conditional GET or HEAD evaluated against a stored entry (RFC 9110 §13.1.2, §13.1.3, RFC 9111 §4.3.2),
/// so the cache can answer 304 itself. If-None-Match, when present, decides alone (weak comparison); else
/// If-Modified-Since is compared with the entry's Last-Modified, or its Date, or when it was stored.
/// </summary>
internal static class ProxyConditional
{
    /// <summary>Conditional request headers: replaced by the entry's own validators when the proxy revalidates.</summary>
    public static readonly string[] RequestHeaders = [HeaderNames.IfNoneMatch, HeaderNames.IfModifiedSince];

    public static bool NotModified(HttpRequest request, ProxyCachedResponse entry)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.StatusCode != StatusCodes.Status200OK)
        {
            return false;
        }

        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0)
        {
            return Matches(ifNoneMatch, entry.ETag);
        }

        if (!HeaderUtilities.TryParseDate(request.Headers.IfModifiedSince.ToString(), out var since))
        {
            return false;
        }

        var modified = HeaderUtilities.TryParseDate(entry.LastModified ?? entry.Header(HeaderNames.Date) ?? string.Empty, out var stated)
            ? stated
            : DateTimeOffset.FromUnixTimeMilliseconds(entry.StoredAtUnixMs);
        return modified <= since;
    }

    /// <summary>Whether any tag of an If-None-Match list (or <c>*</c>) weakly matches <paramref name="etag"/>.</summary>
    public static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string? etag)
    {
        if (etag is null || !EntityTagHeaderValue.TryParse(etag, out var stored))
        {
            return false;
        }

        if (!EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags))
        {
            return false;
        }

        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(stored, useStrongComparison: false));
    }
}

using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Hosting;

namespace CloudProxy.ReverseProxy.Purge;

/// <summary>
/// What a purge names, in the form entries carry (<see cref="ProxyCachedResponse.Url"/>): the path decoded as
/// Kestrel decodes it (every escape but <c>%2F</c>), the query normalized as the cache key normalizes it.
/// </summary>
internal static class ProxyPurgeTarget
{
    public const int MaxLength = 4096;
    public const int MaxDepth = 64;

    /// <summary>A URL to purge (<c>/path?query</c>, an absolute URL's host ignored), or a reason it is not one.</summary>
    public static string? Url(string text, out string? problem)
    {
        if (!Check(text, out problem, out var path, out var query))
        {
            return null;
        }

        return query.Length == 0 ? path : path + "?" + ProxyCacheKey.NormalizeQuery(query);
    }

    /// <summary>A path prefix to purge, without a trailing slash (<c>/</c> purges every path), or a reason it is not one.</summary>
    public static string? Prefix(string text, out string? problem)
    {
        if (!Check(text, out problem, out var path, out var query))
        {
            return null;
        }

        if (query.Length > 0)
        {
            problem = "a prefix is a path, without a query";
            return null;
        }

        var trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    public static string? Tag(string text, out string? problem)
    {
        problem = text.Length == 0 ? "a tag must not be empty"
            : text.Length > ProxyCacheTags.MaxTagLength ? $"a tag is at most {ProxyCacheTags.MaxTagLength} characters"
            : text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ',') ? "a tag has no spaces, commas or control characters"
            : null;
        return problem is null ? text : null;
    }

    /// <summary>The path of an entry's URL and each of its ancestors at a slash: <c>/a/b</c> gives <c>/</c>, <c>/a</c>, <c>/a/b</c>.</summary>
    public static IEnumerable<string> Prefixes(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var query = url.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? url : url[..query];
        yield return "/";
        var depth = 0;
        for (var i = 1; i < path.Length && depth < MaxDepth; i++)
        {
            if (path[i] == '/')
            {
                depth++;
                yield return path[..i];
            }
        }

        if (path.Length > 1 && depth < MaxDepth)
        {
            yield return path.TrimEnd('/');
        }
    }

    private static bool Check(string text, out string? problem, out string path, out string query)
    {
        path = query = string.Empty;
        if (text.Length is 0 or > MaxLength)
        {
            problem = $"a URL or prefix has 1 to {MaxLength} characters";
            return false;
        }

        if (text.Any(char.IsControl))
        {
            problem = "a URL or prefix has no control characters";
            return false;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            // Purges apply to every host: the scheme and host of an absolute URL are not part of what is purged.
            text = absolute.GetComponents(UriComponents.PathAndQuery, UriFormat.UriEscaped);
        }

        if (text[0] != '/')
        {
            problem = "a URL or prefix starts with / (or is an absolute http(s) URL)";
            return false;
        }

        var mark = text.IndexOf('?', StringComparison.Ordinal);
        var rawPath = mark < 0 ? text : text[..mark];
        query = mark < 0 ? string.Empty : text[mark..];
        path = ProxyRawPath.DecodeKeepingSlashes(rawPath) ?? rawPath;
        if (path.Count(c => c == '/') > MaxDepth)
        {
            problem = $"a URL or prefix has at most {MaxDepth} segments";
            return false;
        }

        problem = null;
        return true;
    }
}

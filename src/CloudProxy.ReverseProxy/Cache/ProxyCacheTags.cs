using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// The tags a back end puts on a response for purging: <c>Surrogate-Key</c> (Fastly, Varnish xkey: separated
/// by spaces) and <c>Cache-Tag</c> (Cloudflare: separated by commas). Bounded in number and length: a response
/// with more is not stored (a purge by one of the tags left out would otherwise miss it).
/// </summary>
internal static class ProxyCacheTags
{
    public const string SurrogateKey = "Surrogate-Key";
    public const string CacheTag = "Cache-Tag";
    public const int MaxTags = 64;
    public const int MaxTagLength = 256;

    /// <summary>The response's tags, distinct, in order; null when there are too many or one is too long.</summary>
    public static IReadOnlyList<string>? Of(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (!headers.ContainsKey(SurrogateKey) && !headers.ContainsKey(CacheTag))
        {
            return [];
        }

        var tags = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, separator) in new[] { (SurrogateKey, ' '), (CacheTag, ',') })
        {
            foreach (var value in headers[name])
            {
                foreach (var tag in (value ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (tag.Length > MaxTagLength)
                    {
                        return null;
                    }

                    if (seen.Add(tag))
                    {
                        tags.Add(tag);
                    }
                }
            }
        }

        return tags.Count > MaxTags ? null : tags;
    }
}

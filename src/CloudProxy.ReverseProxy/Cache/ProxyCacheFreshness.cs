namespace CloudProxy.ReverseProxy.Cache;

/// <summary>What the request allows (RFC 9111 §5.2.1): whether the cache takes part at all, and the client's own limits.</summary>
internal readonly record struct ProxyCacheRequest
{
    /// <summary>A stored response may answer this request (possibly after validation).</summary>
    public bool Lookup { get; init; }

    /// <summary>The back end's answer may be stored (GET only; HEAD is answered from GET's entries).</summary>
    public bool Store { get; init; }

    /// <summary><c>no-cache</c>, <c>max-age=0</c> or <c>Pragma: no-cache</c>: validate before using a stored answer.</summary>
    public bool NoCache { get; init; }

    public double? MaxAge { get; init; }

    public double? MinFresh { get; init; }

    /// <summary><c>max-stale[=N]</c>: the client accepts an answer stale by up to N seconds (any without N).</summary>
    public double? MaxStale { get; init; }

    /// <summary><c>only-if-cached</c>: answer from the cache or with 504, never from the back end.</summary>
    public bool OnlyIfCached { get; init; }
}

/// <summary>How a stored entry may answer a request.</summary>
public enum ProxyCacheUse
{
    /// <summary>Fresh for this request: answer from it.</summary>
    Fresh = 0,

    /// <summary>Stale, but the client's <c>max-stale</c> accepts it: answer from it.</summary>
    StaleAccepted = 1,

    /// <summary>Within stale-while-revalidate: answer from it and refresh it in the background.</summary>
    WhileRevalidate = 2,

    /// <summary>Go to the back end first, with the entry's validators when it has any.</summary>
    Validate = 3,
}

internal static class ProxyCacheFreshness
{
    public static ProxyCacheUse Use(ProxyCachedResponse entry, ProxyCacheRequest request, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var age = (nowUnixMs - entry.StoredAtUnixMs) / 1000.0;
        var freshLeft = (entry.ExpiresAtUnixMs - nowUnixMs) / 1000.0;
        var youngEnough = request.MaxAge is not { } maxAge || age <= maxAge;
        var lastsEnough = request.MinFresh is not { } minFresh || freshLeft >= minFresh;
        if (!request.NoCache && freshLeft > 0 && youngEnough && lastsEnough)
        {
            return ProxyCacheUse.Fresh;
        }

        if (entry.MustRevalidate || request.NoCache || !youngEnough || !lastsEnough)
        {
            return ProxyCacheUse.Validate;
        }

        if (request.MaxStale is { } maxStale && -freshLeft <= maxStale)
        {
            return ProxyCacheUse.StaleAccepted;
        }

        return nowUnixMs < entry.StaleWhileRevalidateUntilUnixMs ? ProxyCacheUse.WhileRevalidate : ProxyCacheUse.Validate;
    }

    /// <summary>Whether the entry may stand in for a failed or 5xx back-end answer (RFC 5861 stale-if-error).</summary>
    public static bool ServesOnError(ProxyCachedResponse entry, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return !entry.MustRevalidate && nowUnixMs < entry.StaleIfErrorUntilUnixMs;
    }
}

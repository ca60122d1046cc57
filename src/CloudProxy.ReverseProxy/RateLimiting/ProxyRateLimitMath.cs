namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// The two limit algorithms as plain arithmetic on a partition's state, so the in-memory store and the Redis
/// scripts (<see cref="ProxyRedisRateLimitStore"/>, the same steps in Lua) decide alike and can both say what
/// is left and when more comes back (the RateLimit header), which .NET's limiters do not expose.
/// </summary>
internal static class ProxyRateLimitMath
{
    public const long WindowMs = 60_000;

    /// <summary>
    /// Token bucket: <paramref name="tokens"/> refill continuously at <c>PerMinute</c> a minute up to
    /// <c>Burst</c>. Reset is the time until the next whole token (zero when full).
    /// </summary>
    public static ProxyRateLimitDecision TakeToken(ref double tokens, ref long lastMs, long nowMs, ProxyRateLimit limit)
    {
        var capacity = Math.Max(1, limit.Burst);
        var perMs = Math.Max(1, limit.PerMinute) / (double)WindowMs;
        tokens = Math.Min(capacity, tokens + (Math.Max(0, nowMs - lastMs) * perMs));
        lastMs = Math.Max(lastMs, nowMs);
        var allowed = tokens >= 1;
        if (allowed)
        {
            tokens -= 1;
        }

        var whole = Math.Floor(tokens);
        var resetMs = tokens >= capacity ? 0 : Math.Ceiling((1 - (tokens - whole)) / perMs);
        return new ProxyRateLimitDecision(allowed, (int)whole, TimeSpan.FromMilliseconds(resetMs));
    }

    /// <summary>
    /// Sliding window, approximated from the current and the previous fixed minute (the previous one weighted
    /// by how much of it still overlaps the last 60 s). Reset is when the weighted count next drops by one.
    /// </summary>
    public static ProxyRateLimitDecision TakeSliding(ref long window, ref int current, ref int previous, long nowMs, ProxyRateLimit limit)
    {
        var index = nowMs / WindowMs;
        if (index != window)
        {
            previous = index == window + 1 ? current : 0;
            current = 0;
            window = index;
        }

        var elapsed = nowMs % WindowMs;
        var limitValue = Math.Max(1, limit.PerMinute);
        var used = (previous * (WindowMs - elapsed) / (double)WindowMs) + current;
        var allowed = used + 1 <= limitValue;
        if (allowed)
        {
            current++;
            used++;
        }

        var remaining = (int)Math.Max(0, Math.Floor(limitValue - used));
        return new ProxyRateLimitDecision(allowed, remaining, TimeSpan.FromMilliseconds(SlidingResetMs(used, remaining, limitValue, previous, current, elapsed)));
    }

    /// <summary>Time until <c>used</c> falls by enough to free one more permit: first the previous minute's share decays, then the current one's.</summary>
    private static double SlidingResetMs(double used, int remaining, int limit, int previous, int current, long elapsed)
    {
        if (used <= 0)
        {
            return 0;
        }

        var delta = used - (limit - remaining - 1);
        var previousPart = previous * (WindowMs - elapsed) / (double)WindowMs;
        if (previous > 0 && delta <= previousPart)
        {
            return Math.Ceiling(delta * WindowMs / previous);
        }

        return current == 0 ? WindowMs - elapsed : (WindowMs - elapsed) + Math.Ceiling((delta - previousPart) * WindowMs / current);
    }
}

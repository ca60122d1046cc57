using System.Text.Json;

namespace CloudProxy.Sentry.Protocol;

/// <summary>
/// The rate limits upstreams announced, shared by forwarder (which learns them and obeys them) and ingress
/// (which answers matching requests 429 with the same headers until they expire, as Relay does). One per
/// process; with <c>--transport dapr</c> the forwarder publishes it to the state store and the ingress reads it
/// back (<see cref="SentryRateLimitSync"/>). Reads are lock-free over an immutable snapshot: the ingress
/// checks it on every request.
/// </summary>
internal sealed class SentryRateLimitTable(TimeProvider time)
{
    private readonly Lock _gate = new();
    private SentryRateLimit[] _active = [];
    private long _version;

    /// <summary>Bumped on every change (not on expiry), so a publisher knows when to write.</summary>
    public long Version => Interlocked.Read(ref _version);

    public IReadOnlyList<SentryRateLimit> Snapshot(DateTimeOffset now) => [.. Volatile.Read(ref _active).Where(l => l.ExpiresAt > now)];

    public int ActiveCount(DateTimeOffset now) => Volatile.Read(ref _active).Count(l => l.ExpiresAt > now);

    /// <summary>Adds limits, replacing an older one for the same upstream, scope and categories.</summary>
    public void Apply(IReadOnlyCollection<SentryRateLimit> limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        lock (_gate)
        {
            var kept = _active.Where(old => old.ExpiresAt > now && !limits.Any(l => SameSlot(l, old))).ToList();
            kept.AddRange(limits);
            Volatile.Write(ref _active, [.. kept]);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>Replaces everything (an ingress reading what a forwarder in another process published).</summary>
    public void ReplaceAll(IReadOnlyCollection<SentryRateLimit> limits)
    {
        lock (_gate)
        {
            Volatile.Write(ref _active, [.. limits]);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>The ingress check: the live limits of any upstream covering all of the request's categories.</summary>
    public bool TryMatch(string? key, string? project, SentryCategories categories, DateTimeOffset now, out List<SentryRateLimit>? matches)
    {
        matches = null;
        var active = Volatile.Read(ref _active);
        if (active.Length == 0)
        {
            return false;
        }

        foreach (var limit in active)
        {
            if (limit.ExpiresAt > now && limit.Covers(key, project, categories))
            {
                (matches ??= []).Add(limit);
            }
        }

        return matches is not null;
    }

    /// <summary>The forwarder check for one upstream: when it may be sent again, or null when it may be sent now.</summary>
    public DateTimeOffset? LimitedUntil(string upstream, string? key, string? project, SentryCategories categories, DateTimeOffset now)
    {
        DateTimeOffset? until = null;
        foreach (var limit in Volatile.Read(ref _active))
        {
            if (limit.ExpiresAt > now && limit.Upstream == upstream && limit.Covers(key, project, categories)
                && (until is null || limit.ExpiresAt > until))
            {
                until = limit.ExpiresAt;
            }
        }

        return until;
    }

    /// <summary>Whether any limit of this upstream is in force (the cheap check before an envelope is split by item).</summary>
    public bool AnyFor(string upstream, DateTimeOffset now)
    {
        foreach (var limit in Volatile.Read(ref _active))
        {
            if (limit.ExpiresAt > now && limit.Upstream == upstream)
            {
                return true;
            }
        }

        return false;
    }

    public static byte[] Serialize(IReadOnlyList<SentryRateLimit> limits) =>
        JsonSerializer.SerializeToUtf8Bytes(limits.Select(l => new Wire(l.Upstream, (int)l.Categories, l.CategoryText, (int)l.Scope, l.ScopeValue, l.ReasonCode, l.ExpiresAt.ToUnixTimeMilliseconds())).ToArray());

    /// <summary>Reads what <see cref="Serialize"/> wrote; an unreadable value reads as no limits.</summary>
    public static IReadOnlyList<SentryRateLimit> Deserialize(ReadOnlySpan<byte> json)
    {
        try
        {
            var wire = JsonSerializer.Deserialize<Wire[]>(json) ?? [];
            return [.. wire.Select(w => new SentryRateLimit(w.U, (SentryCategories)w.C, w.T ?? string.Empty, (SentryRateLimitScope)w.S, w.V, w.R, DateTimeOffset.FromUnixTimeMilliseconds(w.E)))];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static bool SameSlot(SentryRateLimit a, SentryRateLimit b) =>
        a.Upstream == b.Upstream && a.Scope == b.Scope && a.ScopeValue == b.ScopeValue && a.Categories == b.Categories;

    private sealed record Wire(string U, int C, string? T, int S, string? V, string? R, long E);
}

using System.Collections.Concurrent;
using CloudProxy.ReverseProxy.Cache;

namespace CloudProxy.ReverseProxy.Purge;

/// <summary>
/// This replica's view of every purge still relevant: for each URL, prefix and tag, the time of its latest
/// purge (Varnish's bans, indexed). An entry stored at or before a matching purge is not served; nothing is
/// deleted, so the same works on every store. Purges older than the longest an entry can live are forgotten.
/// A lookup with no purges on record costs one read of a counter.
/// </summary>
internal sealed class ProxyPurgeIndex(TimeProvider time, TimeSpan remember)
{
    private const int MaxMarks = 100_000;

    private readonly ConcurrentDictionary<(ProxyPurgeKind, string), long> _marks = new();
    private readonly Lock _writer = new();
    private long _all = long.MinValue;
    private long _lastPruneMs;

    // Read on every lookup: a plain field, not ConcurrentDictionary.Count (which takes every lock).
    private volatile int _count;

    public int Count => _count;

    /// <summary>How long a purge is remembered: as long as an entry stored just before it can live.</summary>
    public TimeSpan Remember => remember;

    /// <summary>Records a purge (purges are rare: one writer at a time, lookups never wait).</summary>
    public void Apply(ProxyPurgeRecord record)
    {
        lock (_writer)
        {
            if (record.Kind == ProxyPurgeKind.All)
            {
                Volatile.Write(ref _all, Math.Max(Volatile.Read(ref _all), record.AtUnixMs));
            }
            else
            {
                _marks.AddOrUpdate((record.Kind, record.Value), record.AtUnixMs, (_, old) => Math.Max(old, record.AtUnixMs));
            }

            PruneIfDue();
            _count = _marks.Count + (Volatile.Read(ref _all) == long.MinValue ? 0 : 1);
        }
    }

    public bool IsPurged(ProxyCachedResponse entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (Count == 0)
        {
            return false;
        }

        var stored = entry.StoredAtUnixMs;
        if (Volatile.Read(ref _all) >= stored || Covers(ProxyPurgeKind.Url, entry.Url, stored))
        {
            return true;
        }

        foreach (var tag in entry.Tags)
        {
            if (Covers(ProxyPurgeKind.Tag, tag, stored))
            {
                return true;
            }
        }

        foreach (var prefix in ProxyPurgeTarget.Prefixes(entry.Url))
        {
            if (Covers(ProxyPurgeKind.Prefix, prefix, stored))
            {
                return true;
            }
        }

        return false;
    }

    private bool Covers(ProxyPurgeKind kind, string value, long storedAt) =>
        _marks.TryGetValue((kind, value), out var at) && at >= storedAt;

    private void PruneIfDue()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - _lastPruneMs < 60_000 && _marks.Count <= MaxMarks)
        {
            return;
        }

        _lastPruneMs = now;
        var forgetBefore = now - (long)remember.TotalMilliseconds;
        foreach (var (key, at) in _marks)
        {
            if (at < forgetBefore)
            {
                _marks.TryRemove(new KeyValuePair<(ProxyPurgeKind, string), long>(key, at));
            }
        }

        // Still too many: one purge of everything up to now stands for them all (purging more is safe, less is not).
        if (_marks.Count > MaxMarks)
        {
            Volatile.Write(ref _all, Math.Max(Volatile.Read(ref _all), Math.Max(now, _marks.Values.Max())));
            _marks.Clear();
        }

        if (Volatile.Read(ref _all) < forgetBefore)
        {
            Volatile.Write(ref _all, long.MinValue);
        }
    }
}

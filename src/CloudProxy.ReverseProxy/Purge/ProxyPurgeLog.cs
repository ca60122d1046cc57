using CloudProxy.Core.State;
using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy.Purge;

/// <summary>
/// Carries purges between replicas that share a store (Redis, or the Dapr state store), through one key
/// holding the recent purge records. Every replica reads it every <c>Purge:SyncIntervalMs</c> and applies the
/// records it has not seen. The store offers get and set only (Core's <see cref="IStateStore"/>, as Dapr's),
/// so two replicas appending at once can overwrite each other: each replica keeps its own records and checks
/// on every read that they are still in the log, appending again any that went missing, for as long as an
/// overwrite could still be in flight. A log grown past <c>Purge:MaxRecords</c> folds its oldest records into
/// one purge of everything up to them (purging more is safe; less is not). With the memory store (one
/// process, nothing shared) no log is kept.
/// </summary>
internal sealed partial class ProxyPurgeLog(
    ProxyPurgeIndex index, ProxyCacheStore cacheStore, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, TimeProvider time,
    ILogger<ProxyPurgeLog> logger) : BackgroundService
{
    public const string Key = "cloudproxy:rp:purges";

    /// <summary>How long a replica watches its own records for overwrites: far longer than any store call.</summary>
    private static readonly TimeSpan WatchOwn = TimeSpan.FromSeconds(30);

    private readonly ProxyPurgeOptions _options = options.Value.Purge;
    private readonly string _replica = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (ProxyPurgeRecord Record, long WatchUntil)> _own = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private long _sequence;

    private IStateStore Store => cacheStore.Inner;

    /// <summary>Whether purges travel between replicas (a shared store and purging on).</summary>
    public bool Shared => _options.Enabled && Store is not ProxyMemoryStore;

    /// <summary>
    /// Applies purges here at once and, with a shared store, writes them to the log; true when they are in the
    /// log (or there is none to write), false when the write failed and is left to the next sync.
    /// </summary>
    public async Task<bool> PublishAsync(IEnumerable<(ProxyPurgeKind Kind, string Value)> purges, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(purges);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var records = purges.Select(p => new ProxyPurgeRecord($"{_replica}:{Interlocked.Increment(ref _sequence)}", p.Kind, p.Value, now)).ToList();
        foreach (var record in records)
        {
            index.Apply(record);
            metrics.Purges.WithLabels(Label(record.Kind)).Inc();
        }

        if (!Shared)
        {
            return true;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var watchUntil = time.GetTimestamp() + (long)(WatchOwn.TotalSeconds * time.TimestampFrequency);
            foreach (var record in records)
            {
                _own[record.Id] = (record, watchUntil);
                _seen.Add(record.Id);
            }

            return await SyncUnlockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Shared)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.SyncIntervalMs), time);
        do
        {
            await _gate.WaitAsync(stoppingToken);
            try
            {
                await SyncUnlockedAsync(stoppingToken);
            }
            finally
            {
                _gate.Release();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Reads the log, applies what is new, and writes it back when this replica's own records are missing from it.</summary>
    private async Task<bool> SyncUnlockedAsync(CancellationToken cancellationToken)
    {
        List<ProxyPurgeRecord> log;
        try
        {
            log = ProxyPurgeRecord.Deserialize(await CallAsync(ct => Store.GetAsync(Key, ct), cancellationToken)) ?? [];
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.PurgeSyncErrors.WithLabels("get").Inc();
            Log.SyncFailed(logger, "read", ex);
            return false;
        }

        foreach (var record in log)
        {
            if (_seen.Add(record.Id))
            {
                index.Apply(record);
            }
        }

        var nowTimestamp = time.GetTimestamp();
        foreach (var (id, own) in _own.ToList())
        {
            if (own.WatchUntil < nowTimestamp && log.Any(r => r.Id == id))
            {
                _own.Remove(id);
            }
        }

        var present = log.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var missing = _own.Values.Where(o => !present.Contains(o.Record.Id)).Select(o => o.Record).ToList();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var forgetBefore = now - (long)index.Remember.TotalMilliseconds;
        var expired = log.RemoveAll(r => r.AtUnixMs < forgetBefore);
        if (missing.Count == 0 && expired == 0 && log.Count <= _options.MaxRecords)
        {
            ForgetSeen(log);
            return true;
        }

        log.AddRange(missing);
        Fold(log);
        try
        {
            var bytes = ProxyPurgeRecord.Serialize(log);
            await CallAsync<byte[]>(async ct =>
            {
                await Store.SetAsync(Key, bytes, null, ct);
                return null;
            }, cancellationToken);
            ForgetSeen(log);
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.PurgeSyncErrors.WithLabels("set").Inc();
            Log.SyncFailed(logger, "write", ex);
            return false;
        }
    }

    /// <summary>Past MaxRecords, the oldest records become one purge of everything up to the newest of them.</summary>
    private void Fold(List<ProxyPurgeRecord> log)
    {
        if (log.Count <= _options.MaxRecords)
        {
            return;
        }

        log.Sort((a, b) => a.AtUnixMs.CompareTo(b.AtUnixMs));
        var folded = log.Count - _options.MaxRecords + 1;
        var upTo = log[folded - 1].AtUnixMs;
        log.RemoveRange(0, folded);
        var all = new ProxyPurgeRecord($"{_replica}:{Interlocked.Increment(ref _sequence)}", ProxyPurgeKind.All, string.Empty, upTo);
        log.Insert(0, all);
        _seen.Add(all.Id);
        index.Apply(all);
    }

    /// <summary>Keeps the seen set to what the log still holds (plus this replica's own), so it does not grow for ever.</summary>
    private void ForgetSeen(List<ProxyPurgeRecord> log)
    {
        if (_seen.Count <= (2 * log.Count) + _own.Count + 1024)
        {
            return;
        }

        _seen.Clear();
        _seen.UnionWith(log.Select(r => r.Id));
        _seen.UnionWith(_own.Keys);
    }

    private async Task<T?> CallAsync<T>(Func<CancellationToken, Task<T?>> call, CancellationToken cancellationToken)
        where T : class
    {
        var task = call(cancellationToken);
        return task.IsCompleted ? await task : await task.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(options.Value.Cache.StoreTimeoutMs, 1000)), time, cancellationToken);
    }

    internal static string Label(ProxyPurgeKind kind) => kind switch
    {
        ProxyPurgeKind.Url => "url",
        ProxyPurgeKind.Prefix => "prefix",
        ProxyPurgeKind.Tag => "tag",
        _ => "all",
    };

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.PurgeSyncFailed, Level = LogLevel.Warning,
            Message = "Purge log {Operation} failed; purges made here are written again at the next sync")]
        public static partial void SyncFailed(ILogger logger, string operation, Exception exception);
    }
}

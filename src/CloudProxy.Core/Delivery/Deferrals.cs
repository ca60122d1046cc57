using System.Collections.Concurrent;
using System.Threading.Channels;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Core.Delivery;

/// <summary>One deferral log: a topic's envelopes waiting <see cref="Delay"/> before their next attempt.</summary>
public sealed class DeferralLevel(string topic, int level, TimeSpan delay, SegmentLog log)
{
    public string Topic { get; } = topic;

    public int Level { get; } = level;

    public TimeSpan Delay { get; } = delay;

    public SegmentLog Log { get; } = log;
}

/// <summary>
/// The forwarder side's durable deferral logs, under <c>spool/deferred/&lt;topic&gt;/&lt;level&gt;/</c>: one log per
/// retry delay, so that within a log every envelope is due in the order it was written (its stamp is the time it
/// is due). Used by <see cref="DeliveryGate"/> for the envelopes a forwarder could not deliver yet and by
/// forwarders themselves (<see cref="IDeferrals"/>) for the part of an envelope still to do.
/// </summary>
public sealed class Deferrals : IDeferrals
{
    private const string Folder = "deferred";

    private readonly ConcurrentDictionary<(string Topic, int Level), DeferralLevel> _levels = new();
    private readonly Channel<DeferralLevel> _opened = Channel.CreateUnbounded<DeferralLevel>();
    private readonly LogStore _store;
    private readonly CoreMetrics _metrics;
    private readonly TimeProvider _time;

    public Deferrals(LogStore store, IOptions<DeferralOptions> options, CoreMetrics metrics, CollectorRegistry registry, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        _store = store;
        _metrics = metrics;
        _time = time;
        Delays = options.Value.Delays() ?? [TimeSpan.FromSeconds(1)];

        // Envelopes an earlier run deferred are offered again from the start.
        // A level past today's list (the delays were shortened) is still read, with the last delay.
        foreach (var topic in store.Children(Folder))
        {
            foreach (var level in store.Children(Path.Combine(Folder, LogStore.EncodeName(topic))))
            {
                if (int.TryParse(level, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n < 1000)
                {
                    Level(topic, n);
                }
            }
        }

        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var group in _levels.Values.GroupBy(l => l.Topic, StringComparer.Ordinal))
            {
                _metrics.DeferredDepth.WithLabels(group.Key).Set(group.Sum(l => l.Log.PendingRecords));
            }
        });
    }

    public IReadOnlyList<TimeSpan> Delays { get; }

    /// <summary>Deferral logs as they are opened, for the pump.</summary>
    public ChannelReader<DeferralLevel> Opened => _opened.Reader;

    /// <summary>Deferred envelopes waiting, over every topic.</summary>
    public long Count => _levels.Values.Sum(l => l.Log.PendingRecords);

    public ValueTask<bool> DeferAsync(Envelope envelope) => DeferAsync(envelope, 0);

    /// <summary>Writes <paramref name="envelope"/> to the log of <paramref name="level"/> (clamped to the last), due after that level's delay.</summary>
    public async ValueTask<bool> DeferAsync(Envelope envelope, int level)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var target = Level(envelope.Topic, Math.Min(level, Delays.Count - 1));
        var due = (_time.GetUtcNow() + target.Delay).ToUnixTimeMilliseconds();
        if (await target.Log.AppendAsync(envelope, due) != AppendResult.Written)
        {
            return false;
        }

        _metrics.Deferred.WithLabels(envelope.Topic).Inc();
        return true;
    }

    /// <summary>Opens every level of <paramref name="topic"/> (the forwarders of this process), so the pump watches them.</summary>
    public void Watch(string topic)
    {
        for (var level = 0; level < Delays.Count; level++)
        {
            Level(topic, level);
        }
    }

    private DeferralLevel Level(string topic, int level)
    {
        if (_levels.TryGetValue((topic, level), out var found))
        {
            return found;
        }

        lock (_levels)
        {
            if (!_levels.TryGetValue((topic, level), out found))
            {
                var path = Path.Combine(Folder, LogStore.EncodeName(topic), level.ToString(System.Globalization.CultureInfo.InvariantCulture));
                found = new DeferralLevel(topic, level, Delays[Math.Min(level, Delays.Count - 1)], _store.Open(path, leaveReserve: false, topic));
                _levels[(topic, level)] = found;
                _opened.Writer.TryWrite(found);
            }

            return found;
        }
    }
}

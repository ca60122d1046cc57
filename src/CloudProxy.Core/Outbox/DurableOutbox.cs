using System.Collections.Concurrent;
using System.Threading.Channels;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Core.Outbox;

/// <summary>One topic's outbox: its log, read by one pump loop.</summary>
public sealed class OutboxTopic(string name, SegmentLog log)
{
    public string Name { get; } = name;

    public SegmentLog Log { get; } = log;
}

/// <summary>
/// The ingress side of every topic: one durable log per topic under <c>spool/outbox/</c>. An enqueue completes
/// once the envelope is in its log's file (durable mode; many concurrent requests share one write), or once it
/// is queued for the writer (memory mode). Refused only when the log is at its disk bound or the disk fails.
/// Memory holds at most the logs' cached heads (<see cref="OutboxOptions.MaxBytes"/>), never a backlog.
/// </summary>
public sealed class DurableOutbox : IOutbox
{
    private const string Folder = "outbox";

    private readonly ConcurrentDictionary<string, OutboxTopic> _topics = new(StringComparer.Ordinal);
    private readonly Channel<OutboxTopic> _opened = Channel.CreateUnbounded<OutboxTopic>();
    private readonly LogStore _store;
    private readonly CoreMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly bool _durable;
    private long _lastRefusalTicks;

    public DurableOutbox(LogStore store, IOptions<OutboxOptions> options, CoreMetrics metrics, CollectorRegistry registry, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        _store = store;
        _metrics = metrics;
        _time = time;
        _durable = options.Value.Durability == OutboxDurability.Durable;

        // What an earlier run accepted is replayed from the first moment, whether or not an ingress runs now.
        foreach (var topic in store.Children(Folder))
        {
            Topic(topic);
        }

        // Depth gauges are read at scrape time, not written on every enqueue (the ingress hot path).
        registry.AddBeforeCollectCallback(PublishGauges);
    }

    /// <summary>Topic logs as they are opened (each once), for the pump.</summary>
    public ChannelReader<OutboxTopic> Opened => _opened.Reader;

    public IEnumerable<OutboxTopic> Topics => _topics.Values;

    /// <summary>Accepted envelopes not yet published, over every topic.</summary>
    public long Count => _topics.Values.Sum(t => t.Log.PendingRecords);

    /// <summary>When an envelope was last refused (ticks of <see cref="TimeProvider.GetUtcNow"/>), or 0.</summary>
    public long LastRefusalTicks => Interlocked.Read(ref _lastRefusalTicks);

    public ValueTask<OutboxResult> EnqueueAsync(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var append = Topic(envelope.Topic).Log.AppendAsync(envelope, durable: _durable);
        return append.IsCompletedSuccessfully
            ? new ValueTask<OutboxResult>(Tally(envelope, append.Result))
            : AwaitAsync(envelope, append);
    }

    private async ValueTask<OutboxResult> AwaitAsync(Envelope envelope, ValueTask<AppendResult> append) => Tally(envelope, await append);

    private OutboxResult Tally(Envelope envelope, AppendResult result)
    {
        if (result == AppendResult.Written)
        {
            _metrics.Accepted.WithLabels(envelope.Topic).Inc();
            return OutboxResult.Accepted;
        }

        Interlocked.Exchange(ref _lastRefusalTicks, _time.GetUtcNow().UtcTicks);
        _metrics.Refused.WithLabels(envelope.Topic, result switch
        {
            AppendResult.Full => "spool_full",
            AppendResult.DiskError => "disk_error",
            _ => "shutting_down",
        }).Inc();
        return OutboxResult.Refused;
    }

    private OutboxTopic Topic(string name)
    {
        if (_topics.TryGetValue(name, out var topic))
        {
            return topic;
        }

        lock (_topics)
        {
            if (!_topics.TryGetValue(name, out topic))
            {
                topic = new OutboxTopic(name, _store.Open(Path.Combine(Folder, LogStore.EncodeName(name)), leaveReserve: true, name));
                _topics[name] = topic;
                _opened.Writer.TryWrite(topic);
            }

            return topic;
        }
    }

    private void PublishGauges()
    {
        foreach (var topic in _topics.Values)
        {
            _metrics.OutboxDepth.WithLabels(topic.Name).Set(topic.Log.PendingRecords);
        }

    }
}

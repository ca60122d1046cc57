using System.Threading.Channels;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Spool;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Core.Outbox;

/// <summary>
/// Bounded in count and bytes. Normally envelopes go to memory and the spool takes the overflow; while the
/// publisher is failing (<see cref="SpillToSpool"/>) new envelopes go to the spool first, so a broker outage
/// costs disk, not memory. Refused only when both are full.
/// </summary>
public sealed class Outbox : IOutbox
{
    private readonly Channel<Envelope> _channel;
    private readonly ISpool _spool;
    private readonly CoreMetrics _metrics;
    private readonly long _maxBytes;
    private long _bytes;
    private int _count;
    private volatile bool _closed;

    public Outbox(IOptions<OutboxOptions> options, ISpool spool, CoreMetrics metrics, CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);

        // Depth gauges are read at scrape time, not written on every enqueue (the ingress hot path).
        registry.AddBeforeCollectCallback(PublishGauges);
        _spool = spool;
        _metrics = metrics;
        _maxBytes = options.Value.MaxBytes;
        _channel = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(options.Value.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Set by the pump while publishing fails.</summary>
    public bool SpillToSpool { get; set; }

    public int Count => Volatile.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>After shutdown has drained memory, anything late goes to the spool only.</summary>
    public void Close() => _closed = true;

    public OutboxResult TryEnqueue(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (_closed)
        {
            if (TrySpool(envelope, "shutting_down"))
            {
                return OutboxResult.Spooled;
            }
        }
        else if (SpillToSpool)
        {
            if (TrySpool(envelope, "publisher_down"))
            {
                return OutboxResult.Spooled;
            }

            if (TryWriteMemory(envelope))
            {
                return OutboxResult.Accepted;
            }
        }
        else
        {
            if (TryWriteMemory(envelope))
            {
                return OutboxResult.Accepted;
            }

            if (TrySpool(envelope, "outbox_full"))
            {
                return OutboxResult.Spooled;
            }
        }

        _metrics.Refused.WithLabels(envelope.Topic).Inc();
        return OutboxResult.Refused;
    }

    /// <summary>Completes when an envelope is waiting (or on cancellation).</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
        await _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Takes what is there, up to <paramref name="max"/>, without waiting.</summary>
    public void Drain(List<Envelope> into, int max)
    {
        ArgumentNullException.ThrowIfNull(into);
        while (into.Count < max && _channel.Reader.TryRead(out var envelope))
        {
            Interlocked.Add(ref _bytes, -envelope.Size);
            Interlocked.Decrement(ref _count);
            into.Add(envelope);
        }
    }

    private bool TryWriteMemory(Envelope envelope)
    {
        var size = envelope.Size;
        if (Interlocked.Add(ref _bytes, size) > _maxBytes)
        {
            Interlocked.Add(ref _bytes, -size);
            return false;
        }

        // Count first so a concurrent Drain never sees the count go negative.
        Interlocked.Increment(ref _count);
        if (!_channel.Writer.TryWrite(envelope))
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Add(ref _bytes, -size);
            return false;
        }

        _metrics.Accepted.WithLabels(envelope.Topic).Inc();
        return true;
    }

    private bool TrySpool(Envelope envelope, string reason)
    {
        if (!_spool.TryAppend([envelope]))
        {
            return false;
        }

        _metrics.Spooled.WithLabels(envelope.Topic, reason).Inc();
        return true;
    }

    private void PublishGauges()
    {
        _metrics.OutboxDepth.Set(Volatile.Read(ref _count));
        _metrics.OutboxBytes.Set(Interlocked.Read(ref _bytes));
    }
}

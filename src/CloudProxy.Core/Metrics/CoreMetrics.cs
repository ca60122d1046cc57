using Prometheus;

namespace CloudProxy.Core.Metrics;

/// <summary>Core's instruments, created once per host from its own registry.</summary>
public sealed class CoreMetrics
{
    public CoreMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        OutboxDepth = factory.CreateGauge(CoreMetricNames.OutboxDepth, "Accepted envelopes in a topic's outbox log, not yet published.", ["topic"]);
        OutboxBytes = factory.CreateGauge(CoreMetricNames.OutboxBytes, "Bytes of the logs' heads cached in memory.");
        SpoolEnvelopes = factory.CreateGauge(CoreMetricNames.SpoolEnvelopes, "Envelopes waiting on disk (outbox and deferral logs).");
        SpoolBytes = factory.CreateGauge(CoreMetricNames.SpoolBytes, "Bytes of every log file on disk; the spool bound counts these.");
        DeferredDepth = factory.CreateGauge(CoreMetricNames.DeferredDepth, "Envelopes a forwarder deferred, waiting in its deferral logs.", ["topic"]);
        QuarantineDepth = factory.CreateGauge(CoreMetricNames.QuarantineDepth, "Envelopes kept in the quarantine (never deliverable).");
        Accepted = factory.CreateCounter(CoreMetricNames.Accepted, "Envelopes accepted into a topic's outbox log.", ["topic"]);
        Deferred = factory.CreateCounter(CoreMetricNames.Deferred, "Envelopes a forwarder could not deliver yet, written to its deferral log.", ["topic"]);
        Refused = factory.CreateCounter(CoreMetricNames.Refused, "Envelopes refused because the log was full or the disk failed.", ["topic", "reason"]);
        Published = factory.CreateCounter(CoreMetricNames.Published, "Envelopes handed to the transport successfully.", ["topic"]);
        PublishFailures = factory.CreateCounter(CoreMetricNames.PublishFailures, "Envelopes the transport did not take (kept and retried).", ["topic"]);
        Replayed = factory.CreateCounter(CoreMetricNames.Replayed, "Deferred envelopes offered to their forwarder again.", ["topic"]);
        Delivered = factory.CreateCounter(CoreMetricNames.Delivered, "Envelopes handled by a forwarder, by outcome.", ["topic", "outcome"]);
        Quarantined = factory.CreateCounter(CoreMetricNames.Quarantined, "Envelopes that can never be delivered, kept in the quarantine.", ["topic", "reason"]);
        Lost = factory.CreateCounter(CoreMetricNames.Lost, "Accepted envelopes that could not be kept, by why.", ["reason"]);
        Duplicates = factory.CreateCounter(CoreMetricNames.Duplicates, "Envelopes that may be delivered more than once (at-least-once), by why.", ["topic", "reason"]);
        SpoolCorruptBytes = factory.CreateCounter(CoreMetricNames.SpoolCorruptBytes, "Unreadable bytes skipped in log files.");
        SpoolDamagedSegments = factory.CreateCounter(CoreMetricNames.SpoolDamagedSegments, "Log segment files moved aside at start-up because of damage.");
        SpoolSalvaged = factory.CreateCounter(CoreMetricNames.SpoolSalvaged, "Envelopes read back from damaged log segments.");
        PublisherHealthy = factory.CreateGauge(CoreMetricNames.PublisherHealthy, "1 while the last publish succeeded, 0 while backing off.");
        // 5 ms to ~11 min: an envelope delivered at once sits in the first buckets; one replayed from the spool
        // after an outage lands in the last ones.
        DeliveryLatency = factory.CreateHistogram(
            CoreMetricNames.DeliveryLatency,
            "Seconds from the ingress receiving an envelope to a forwarder delivering it.",
            ["topic"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 18) });
    }

    public Gauge OutboxDepth { get; }

    public Gauge OutboxBytes { get; }

    public Gauge SpoolEnvelopes { get; }

    public Gauge SpoolBytes { get; }

    public Gauge DeferredDepth { get; }

    public Gauge QuarantineDepth { get; }

    public Counter Accepted { get; }

    public Counter Deferred { get; }

    public Counter Refused { get; }

    public Counter Published { get; }

    public Counter PublishFailures { get; }

    public Counter Replayed { get; }

    public Counter Delivered { get; }

    public Counter Quarantined { get; }

    public Counter Lost { get; }

    public Counter Duplicates { get; }

    public Counter SpoolCorruptBytes { get; }

    public Counter SpoolDamagedSegments { get; }

    public Counter SpoolSalvaged { get; }

    public Gauge PublisherHealthy { get; }

    public Histogram DeliveryLatency { get; }
}

using Prometheus;

namespace CloudProxy.Core.Metrics;

/// <summary>Core's instruments, created once per host from its own registry.</summary>
public sealed class CoreMetrics
{
    public CoreMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        OutboxDepth = factory.CreateGauge(CoreMetricNames.OutboxDepth, "Envelopes waiting in the in-memory outbox.");
        OutboxBytes = factory.CreateGauge(CoreMetricNames.OutboxBytes, "Bytes held by the in-memory outbox.");
        SpoolEnvelopes = factory.CreateGauge(CoreMetricNames.SpoolEnvelopes, "Envelopes waiting in the disk spool.");
        SpoolBytes = factory.CreateGauge(CoreMetricNames.SpoolBytes, "Payload bytes waiting in the disk spool.");
        Accepted = factory.CreateCounter(CoreMetricNames.Accepted, "Envelopes accepted into the in-memory outbox.", ["topic"]);
        Spooled = factory.CreateCounter(CoreMetricNames.Spooled, "Envelopes written to the disk spool, by why.", ["topic", "reason"]);
        Refused = factory.CreateCounter(CoreMetricNames.Refused, "Envelopes refused because memory and spool were full.", ["topic"]);
        Published = factory.CreateCounter(CoreMetricNames.Published, "Envelopes handed to the transport successfully.", ["topic"]);
        PublishFailures = factory.CreateCounter(CoreMetricNames.PublishFailures, "Envelopes the transport did not take (kept and retried).", ["topic"]);
        Replayed = factory.CreateCounter(CoreMetricNames.Replayed, "Envelopes published from the spool.", ["topic"]);
        Delivered = factory.CreateCounter(CoreMetricNames.Delivered, "Envelopes handled by a forwarder, by outcome.", ["topic", "outcome"]);
        Lost = factory.CreateCounter(CoreMetricNames.Lost, "Accepted envelopes that could not be kept (spool full at shutdown).", ["reason"]);
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

    public Counter Accepted { get; }

    public Counter Spooled { get; }

    public Counter Refused { get; }

    public Counter Published { get; }

    public Counter PublishFailures { get; }

    public Counter Replayed { get; }

    public Counter Delivered { get; }

    public Counter Lost { get; }

    public Gauge PublisherHealthy { get; }

    public Histogram DeliveryLatency { get; }
}

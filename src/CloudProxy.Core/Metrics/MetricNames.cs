namespace CloudProxy.Core.Metrics;

/// <summary>Every metric name Core exports, in one place: <c>cloudproxy_core_&lt;thing&gt;_&lt;unit&gt;</c>.</summary>
internal static class CoreMetricNames
{
    /// <summary>Accepted envelopes not yet published, per topic (they are in the topic's outbox log).</summary>
    public const string OutboxDepth = "cloudproxy_core_outbox_envelopes";

    /// <summary>Bytes of the logs' heads cached in memory.</summary>
    public const string OutboxBytes = "cloudproxy_core_outbox_bytes";

    /// <summary>Envelopes waiting on disk: the outbox logs and the deferral logs.</summary>
    public const string SpoolEnvelopes = "cloudproxy_core_spool_envelopes";

    /// <summary>Bytes of every log file on disk (outbox, deferrals, quarantine): what the disk bound counts.</summary>
    public const string SpoolBytes = "cloudproxy_core_spool_bytes";
    public const string DeferredDepth = "cloudproxy_core_deferred_envelopes";
    public const string QuarantineDepth = "cloudproxy_core_quarantined_envelopes";
    public const string Accepted = "cloudproxy_core_envelopes_accepted_total";
    public const string Deferred = "cloudproxy_core_envelopes_deferred_total";
    public const string Refused = "cloudproxy_core_envelopes_refused_total";
    public const string Published = "cloudproxy_core_envelopes_published_total";
    public const string PublishFailures = "cloudproxy_core_publish_failures_total";
    public const string Replayed = "cloudproxy_core_envelopes_replayed_total";
    public const string Delivered = "cloudproxy_core_envelopes_delivered_total";
    public const string Quarantined = "cloudproxy_core_envelopes_quarantined_total";
    public const string Lost = "cloudproxy_core_envelopes_lost_total";
    public const string Duplicates = "cloudproxy_core_envelopes_duplicates_total";
    public const string SpoolCorruptBytes = "cloudproxy_core_spool_corrupt_bytes_total";
    public const string SpoolDamagedSegments = "cloudproxy_core_spool_damaged_segments_total";
    public const string SpoolSalvaged = "cloudproxy_core_spool_salvaged_envelopes_total";
    public const string PublisherHealthy = "cloudproxy_core_publisher_healthy";
    public const string MemoryTrims = "cloudproxy_core_memory_trims_total";

    /// <summary>Seconds from the ingress receiving an envelope to a forwarder delivering it, by topic.</summary>
    public const string DeliveryLatency = "cloudproxy_core_delivery_latency_seconds";
}

namespace CloudProxy.Core.Metrics;

/// <summary>Every metric name Core exports, in one place: <c>cloudproxy_core_&lt;thing&gt;_&lt;unit&gt;</c>.</summary>
public static class CoreMetricNames
{
    public const string OutboxDepth = "cloudproxy_core_outbox_envelopes";
    public const string OutboxBytes = "cloudproxy_core_outbox_bytes";
    public const string SpoolEnvelopes = "cloudproxy_core_spool_envelopes";
    public const string SpoolBytes = "cloudproxy_core_spool_bytes";
    public const string Accepted = "cloudproxy_core_envelopes_accepted_total";
    public const string Spooled = "cloudproxy_core_envelopes_spooled_total";
    public const string Refused = "cloudproxy_core_envelopes_refused_total";
    public const string Published = "cloudproxy_core_envelopes_published_total";
    public const string PublishFailures = "cloudproxy_core_publish_failures_total";
    public const string Replayed = "cloudproxy_core_envelopes_replayed_total";
    public const string Delivered = "cloudproxy_core_envelopes_delivered_total";
    public const string Lost = "cloudproxy_core_envelopes_lost_total";
    public const string PublisherHealthy = "cloudproxy_core_publisher_healthy";
    public const string MemoryTrims = "cloudproxy_core_memory_trims_total";

    /// <summary>Seconds from the ingress receiving an envelope to a forwarder delivering it, by topic.</summary>
    public const string DeliveryLatency = "cloudproxy_core_delivery_latency_seconds";
}

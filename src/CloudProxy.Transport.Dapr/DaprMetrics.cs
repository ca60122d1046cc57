using Prometheus;

namespace CloudProxy.Transport.Dapr;

/// <summary>Every metric name the Dapr transport exports: <c>cloudproxy_dapr_&lt;thing&gt;_&lt;unit&gt;</c>.</summary>
internal static class DaprMetricNames
{
    /// <summary>Entries answered to daprd, by topic (registered topics only) and status (success, retry, drop).</summary>
    public const string DeliveryEntries = "cloudproxy_dapr_delivery_entries_total";

    /// <summary>Entries answered DROP, by reason (undecodable, no_data, wrong_topic, malformed_body, handler).</summary>
    public const string DeliveryDropped = "cloudproxy_dapr_delivery_dropped_total";

    /// <summary>Whole deliveries refused with an HTTP status, by reason (unknown_topic, too_large, missing_entry_id).</summary>
    public const string DeliveryRefused = "cloudproxy_dapr_delivery_refused_total";

    /// <summary>Envelopes handed to the sidecar, by mode (bulk, single) and result (published, failed).</summary>
    public const string PublishEnvelopes = "cloudproxy_dapr_publish_envelopes_total";

    /// <summary>gRPC errors from publish calls, by status code.</summary>
    public const string PublishErrors = "cloudproxy_dapr_publish_errors_total";

    /// <summary>Times the publisher stepped down a bulk API because the sidecar answered Unimplemented, by target.</summary>
    public const string BulkPublishFallbacks = "cloudproxy_dapr_bulk_publish_fallbacks_total";

    /// <summary>Bulk publishes daprd refused as a whole (Internal, empty response), published again entry by entry.</summary>
    public const string BulkSplits = "cloudproxy_dapr_bulk_publish_splits_total";

    /// <summary>State store calls, by operation (get, set, delete) and result (ok, error).</summary>
    public const string StateOperations = "cloudproxy_dapr_state_operations_total";
}

/// <summary>The Dapr transport's counters, created once from the host's <see cref="IMetricFactory"/>.</summary>
internal sealed class DaprMetrics
{
    public DaprMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        DeliveryEntries = factory.CreateCounter(DaprMetricNames.DeliveryEntries, "Entries answered to the Dapr sidecar.", ["topic", "status"]);
        DeliveryDropped = factory.CreateCounter(DaprMetricNames.DeliveryDropped, "Entries answered DROP to the Dapr sidecar.", ["reason"]);
        DeliveryRefused = factory.CreateCounter(DaprMetricNames.DeliveryRefused, "Deliveries refused with an HTTP error status.", ["reason"]);
        PublishEnvelopes = factory.CreateCounter(DaprMetricNames.PublishEnvelopes, "Envelopes published through the Dapr sidecar.", ["mode", "result"]);
        PublishErrors = factory.CreateCounter(DaprMetricNames.PublishErrors, "gRPC errors from Dapr publish calls.", ["code"]);
        BulkPublishFallbacks = factory.CreateCounter(DaprMetricNames.BulkPublishFallbacks, "Bulk publish API downgrades after Unimplemented.", ["to"]);
        BulkSplits = factory.CreateCounter(DaprMetricNames.BulkSplits, "Bulk publishes refused as a whole, published again entry by entry.");
        StateOperations = factory.CreateCounter(DaprMetricNames.StateOperations, "Dapr state store calls.", ["operation", "result"]);
    }

    internal Counter DeliveryEntries { get; }

    internal Counter DeliveryDropped { get; }

    internal Counter DeliveryRefused { get; }

    internal Counter PublishEnvelopes { get; }

    internal Counter PublishErrors { get; }

    internal Counter BulkPublishFallbacks { get; }

    internal Counter BulkSplits { get; }

    internal Counter StateOperations { get; }
}

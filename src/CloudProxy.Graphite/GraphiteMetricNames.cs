namespace CloudProxy.Graphite;

/// <summary>Every metric the Graphite module exports: <c>cloudproxy_graphite_&lt;thing&gt;_&lt;unit&gt;</c>.</summary>
internal static class GraphiteMetricNames
{
    /// <summary>Labels <c>endpoint</c> (ping, ingest, plaintext), <c>code</c> (HTTP status; 200 for plaintext).</summary>
    public const string Requests = "cloudproxy_graphite_requests_total";

    /// <summary>Label <c>reason</c>: why a whole request was refused (invalid_key, not_gzip, too_large, outbox_full…).</summary>
    public const string Refusals = "cloudproxy_graphite_refusals_total";

    /// <summary>Good points handed to the outbox (per key: the bad-lines counter's labels stay the bounded ones).</summary>
    public const string PointsAccepted = "cloudproxy_graphite_points_accepted_total";

    /// <summary>Labels <c>key</c> (capped, then <c>_other</c>), <c>reason</c>: lines refused by validation.</summary>
    public const string BadLines = "cloudproxy_graphite_bad_lines_total";

    /// <summary>Label <c>key</c>: HTTP batches refused with 429 because the key was over its quota.</summary>
    public const string QuotaRefusedBatches = "cloudproxy_graphite_quota_refused_batches_total";

    /// <summary>Label <c>key</c>: points in those batches.</summary>
    public const string QuotaRefusedPoints = "cloudproxy_graphite_quota_refused_points_total";

    /// <summary>Label <c>key</c> (<c>_plaintext</c>): times a plaintext connection was not read until the quota allowed it.</summary>
    public const string QuotaWaits = "cloudproxy_graphite_quota_waits_total";

    /// <summary>Label <c>key</c> (<c>_plaintext</c>): seconds plaintext connections were held by the quota.</summary>
    public const string QuotaWaitedSeconds = "cloudproxy_graphite_quota_waited_seconds_total";

    public const string KeysLoaded = "cloudproxy_graphite_keys";

    public const string KeyRefreshFailures = "cloudproxy_graphite_key_refresh_failures_total";

    /// <summary>Label <c>destination</c>: points waiting in memory for the destination.</summary>
    public const string DestinationQueued = "cloudproxy_graphite_destination_queued_points";

    /// <summary>Label <c>destination</c>: points written to the destination's socket.</summary>
    public const string DestinationSent = "cloudproxy_graphite_destination_sent_points_total";

    /// <summary>Labels <c>destination</c>, <c>reason</c> (queue_full, down, send_failed, resend, shutdown).</summary>
    public const string DestinationSpooled = "cloudproxy_graphite_destination_spooled_points_total";

    /// <summary>Label <c>destination</c>: points waiting in the destination's disk spool.</summary>
    public const string DestinationSpoolPoints = "cloudproxy_graphite_destination_spool_points";

    /// <summary>Label <c>destination</c>: points sent again from the spool.</summary>
    public const string DestinationReplayed = "cloudproxy_graphite_destination_replayed_points_total";

    /// <summary>Labels <c>destination</c>, <c>reason</c> (spool_full, spool_corrupt): points that could not be kept.</summary>
    public const string DestinationDropped = "cloudproxy_graphite_destination_dropped_points_total";

    /// <summary>Label <c>destination</c>: 1 connected, 0 not.</summary>
    public const string DestinationConnected = "cloudproxy_graphite_destination_connected";

    public const string DestinationConnects = "cloudproxy_graphite_destination_connects_total";

    /// <summary>Label <c>reason</c>: envelopes the forwarder answered Drop (unknown_kind).</summary>
    public const string EnvelopesDropped = "cloudproxy_graphite_envelopes_dropped_total";

    /// <summary>Label <c>reason</c> (blackhole, no_match): points the routes file sends to no destination.</summary>
    public const string RoutingDropped = "cloudproxy_graphite_routing_dropped_points_total";

    /// <summary>Points whose name a rewrite rule of the routes file changed.</summary>
    public const string RoutingRewritten = "cloudproxy_graphite_routing_rewritten_points_total";

    /// <summary>Points emitted by the aggregation rules.</summary>
    public const string Aggregated = "cloudproxy_graphite_aggregated_points_total";
}

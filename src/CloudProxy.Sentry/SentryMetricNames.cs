namespace CloudProxy.Sentry;

/// <summary>Every metric the Sentry module exports: <c>cloudproxy_sentry_&lt;thing&gt;_&lt;unit&gt;</c>, and ogre's names.</summary>
internal static class SentryMetricNames
{
    /// <summary>Labels: <c>endpoint</c> (envelope, store, security, minidump, attachment, passthrough, preflight: <see cref="Ingress.SentryIngressEndpoints"/>), <c>outcome</c>.</summary>
    public const string Requests = "cloudproxy_sentry_requests_total";

    /// <summary>Label <c>reason</c>: why a request was refused (auth_missing, body_too_large, rate_limited…).</summary>
    public const string Refusals = "cloudproxy_sentry_refusals_total";

    /// <summary>
    /// Labels <c>reason</c>, <c>category</c>: quantities (items; bytes for attachment and log_byte) the ingress
    /// refused under a rate limit and reports upstream in <c>client_report</c> items.
    /// </summary>
    public const string OutcomesReported = "cloudproxy_sentry_outcomes_reported_total";

    /// <summary>Client-report envelopes the ingress could not queue (outbox full): those outcomes are lost.</summary>
    public const string OutcomeReportsLost = "cloudproxy_sentry_outcome_reports_lost_total";

    /// <summary>Decompressed payload bytes handed to the outbox.</summary>
    public const string BytesAccepted = "cloudproxy_sentry_bytes_accepted_total";

    /// <summary>Labels <c>upstream</c>, <c>outcome</c> (delivered, rejected, rate_limited, server_error, transport_error, deferred).</summary>
    public const string UpstreamRequests = "cloudproxy_sentry_upstream_requests_total";

    /// <summary>
    /// Label <c>upstream</c>: request body bytes written to that upstream's connections as sent (gzip unless
    /// <c>Forwarder:Compress</c> is false), every attempt (a retry sends them again); compare with
    /// <see cref="UpstreamBodyBytes"/> for the saving.
    /// </summary>
    public const string UpstreamWireBytes = "cloudproxy_sentry_upstream_wire_bytes_total";

    /// <summary>Label <c>upstream</c>: the same request bodies before compression (every attempt).</summary>
    public const string UpstreamBodyBytes = "cloudproxy_sentry_upstream_body_bytes_total";

    /// <summary>
    /// Label <c>upstream</c>: envelope items held back (kept, sent once the limit ends) because a rate limit of
    /// that upstream covers their category, while the envelope's other items were sent.
    /// </summary>
    public const string UpstreamItemsHeld = "cloudproxy_sentry_upstream_items_held_total";

    /// <summary>Labels <c>upstream</c>, <c>reason</c>: envelopes an upstream refused for good (status_400, status_413…), never resent.</summary>
    public const string UpstreamDropped = "cloudproxy_sentry_upstream_dropped_total";

    /// <summary>Label <c>upstream</c>: envelopes that will reach an upstream a second time (a requeue copy could not be kept).</summary>
    public const string Duplicates = "cloudproxy_sentry_upstream_duplicates_total";

    /// <summary>Envelopes delivered to some upstreams and requeued for the rest (so none gets it twice).</summary>
    public const string Requeued = "cloudproxy_sentry_requeued_total";

    /// <summary>Label <c>upstream</c>: the AIMD concurrency limit in force.</summary>
    public const string ConcurrencyLimit = "cloudproxy_sentry_upstream_concurrency_limit";

    /// <summary>Label <c>upstream</c>: requests in flight.</summary>
    public const string InFlight = "cloudproxy_sentry_upstream_in_flight";

    /// <summary>Label <c>upstream</c>: seconds per upstream request.</summary>
    public const string UpstreamLatency = "cloudproxy_sentry_upstream_request_duration_seconds";

    /// <summary>Rate limits announced by upstreams and still in force.</summary>
    public const string RateLimitsActive = "cloudproxy_sentry_rate_limits_active";

    /// <summary>Label <c>reason</c>: envelopes the forwarder answered Drop (unknown_kind).</summary>
    public const string EnvelopesDropped = "cloudproxy_sentry_envelopes_dropped_total";

    /// <summary>
    /// Label <c>rule</c> (ip, cookie, auth_header, password, credit_card, field): values the forwarder replaced
    /// with <c>[Filtered]</c> before sending (<c>CloudProxy:Sentry:Scrub</c>), counted on each delivery attempt.
    /// </summary>
    public const string ScrubbedValues = "cloudproxy_sentry_scrubbed_values_total";

    // ogre's metric names, kept for its dashboards. Same meaning as in ogre, honest values.

    /// <summary>Events put in the queue (accepted into outbox or spool).</summary>
    public const string OgrePutToQueue = "ogre_put_to_queue_total";

    /// <summary>Events that could not be queued (outbox and spool full: answered 503).</summary>
    public const string OgreFailedPutToQueue = "ogre_failed_put_to_queue_total";

    /// <summary>Requests sent to upstream Sentry instances.</summary>
    public const string OgreSentryRequests = "ogre_sentry_request_total";

    /// <summary>Requests to upstream Sentry instances that failed (transport error or non-2xx).</summary>
    public const string OgreSentryFailedRequests = "ogre_sentry_failed_request_total";

    /// <summary>Requests the ingress received on Sentry routes.</summary>
    public const string OgreReqCount = "ogre_req_count";

    /// <summary>Always 1; label <c>version</c>.</summary>
    public const string OgreInfo = "ogre_info";
}

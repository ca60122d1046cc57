using CloudProxy.Core.Metrics;
using Prometheus;

namespace CloudProxy.Sentry.Ingress;

/// <summary>The ingress's counters (ours and ogre's); label children are resolved once, not per request.</summary>
internal sealed class SentryIngressMetrics
{
    private static readonly string[] EndpointNames = ["envelope", "store", "security", "minidump", "attachment", "passthrough", "preflight"];

    private static readonly string[] OutcomeNames =
        ["ok", "bad_request", "unauthorized", "forbidden", "payload_too_large", "unsupported_media_type", "too_many_requests", "unavailable", "bad_gateway"];

    private static readonly string[] ReasonNames =
    [
        "auth_missing", "auth_multiple", "auth_invalid", "key_not_allowed", "project_not_allowed", "invalid_project",
        "unsupported_encoding", "corrupt_body", "body_too_large", "event_too_large", "malformed_envelope", "malformed_event",
        "empty_body", "rate_limited", "quota_exceeded", "outbox_full", "aborted", "no_upstream", "invalid_path", "not_found",
        "passthrough_disabled",
    ];

    private readonly ICounter[,] _requests;
    private readonly ICounter[] _refusals;

    public SentryIngressMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var requests = factory.CreateCounter(SentryMetricNames.Requests, "Sentry ingress requests by endpoint and outcome.", ["endpoint", "outcome"]);
        _requests = LabelledCounters.Grid(requests, EndpointNames, OutcomeNames);
        var refusals = factory.CreateCounter(SentryMetricNames.Refusals, "Sentry ingress requests refused, by reason.", ["reason"]);
        _refusals = LabelledCounters.Children(refusals, ReasonNames);
        BytesAccepted = factory.CreateCounter(SentryMetricNames.BytesAccepted, "Decompressed Sentry payload bytes handed to the outbox.");
        OgrePutToQueue = factory.CreateCounter(SentryMetricNames.OgrePutToQueue, "ogre: events put in the queue (outbox or spool).");
        OgreFailedPutToQueue = factory.CreateCounter(SentryMetricNames.OgreFailedPutToQueue, "ogre: events that could not be queued (outbox and spool full).");
        OgreReqCount = factory.CreateCounter(SentryMetricNames.OgreReqCount, "ogre: requests received on Sentry routes.");
    }

    public ICounter BytesAccepted { get; }

    public ICounter OgrePutToQueue { get; }

    public ICounter OgreFailedPutToQueue { get; }

    public ICounter OgreReqCount { get; }

    public void Request(SentryIngressEndpoint endpoint, int statusCode) =>
        _requests[(int)endpoint, OutcomeIndex(statusCode)].Inc();

    public void Refusal(SentryRefusal reason) => _refusals[(int)reason].Inc();

    public static string ReasonName(SentryRefusal reason) => ReasonNames[(int)reason];

    private static int OutcomeIndex(int statusCode) => statusCode switch
    {
        < 400 => 0,
        401 => 2,
        403 => 3,
        413 => 4,
        415 => 5,
        429 => 6,
        502 or 504 => 8,
        >= 500 => 7,
        _ => 1,
    };
}

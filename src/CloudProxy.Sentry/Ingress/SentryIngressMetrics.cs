using CloudProxy.Core.Metrics;
using Prometheus;

namespace CloudProxy.Sentry.Ingress;

/// <summary>The ingress's counters (ours and ogre's); label children are resolved once, not per request.</summary>
internal sealed class SentryIngressMetrics
{
    private readonly ICounter[,] _requests;
    private readonly ICounter[] _refusals;

    public SentryIngressMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var requests = factory.CreateCounter(SentryMetricNames.Requests, "Sentry ingress requests by endpoint and outcome.", ["endpoint", "outcome"]);
        _requests = LabelledCounters.GridByValue<SentryIngressEndpoint, Outcome>(requests, SentryIngressEndpoints.Label, Label);
        var refusals = factory.CreateCounter(SentryMetricNames.Refusals, "Sentry ingress requests refused, by reason.", ["reason"]);
        _refusals = LabelledCounters.ByValue<SentryRefusal>(refusals, SentryIngressEndpoints.Label);
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
        _requests[(int)endpoint, (int)OutcomeOf(statusCode)].Inc();

    public void Refusal(SentryRefusal reason) => _refusals[(int)reason].Inc();

    public static string ReasonName(SentryRefusal reason) => SentryIngressEndpoints.Label(reason);

    /// <summary>The <c>outcome</c> label of the request counter.</summary>
    internal enum Outcome
    {
        Ok,
        BadRequest,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        Unavailable,
        BadGateway,
    }

    internal static Outcome OutcomeOf(int statusCode) => statusCode switch
    {
        < 400 => Outcome.Ok,
        401 => Outcome.Unauthorized,
        403 => Outcome.Forbidden,
        413 => Outcome.PayloadTooLarge,
        415 => Outcome.UnsupportedMediaType,
        429 => Outcome.TooManyRequests,
        502 or 504 => Outcome.BadGateway,
        >= 500 => Outcome.Unavailable,
        _ => Outcome.BadRequest,
    };

    internal static string Label(Outcome outcome) => outcome switch
    {
        Outcome.Ok => "ok",
        Outcome.BadRequest => "bad_request",
        Outcome.Unauthorized => "unauthorized",
        Outcome.Forbidden => "forbidden",
        Outcome.PayloadTooLarge => "payload_too_large",
        Outcome.UnsupportedMediaType => "unsupported_media_type",
        Outcome.TooManyRequests => "too_many_requests",
        Outcome.Unavailable => "unavailable",
        Outcome.BadGateway => "bad_gateway",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "no label for this outcome"),
    };
}

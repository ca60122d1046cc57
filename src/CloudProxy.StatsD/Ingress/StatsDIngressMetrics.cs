using CloudProxy.Core.Metrics;
using Prometheus;

namespace CloudProxy.StatsD.Ingress;

/// <summary>The ingress's counters; label children are resolved once, not per request.</summary>
internal sealed class StatsDIngressMetrics
{
    private static readonly string[] EndpointNames = ["heartbeat", "count", "gauge", "timing", "set", "batch", "preflight"];

    private static readonly string[] OutcomeNames =
        ["ok", "bad_request", "unauthorized", "forbidden", "payload_too_large", "unsupported_media_type", "unavailable", "too_many_requests"];

    private static readonly string[] ReasonNames =
    [
        "invalid_key", "invalid_value", "missing_value", "invalid_sample_rate", "invalid_tags", "tags_disabled",
        "invalid_type", "malformed_line", "malformed_body", "empty_batch", "unsupported_media_type", "body_too_large",
        "too_many_metrics", "token_missing", "token_invalid", "outbox_full", "flood_client", "flood_token",
        "cardinality_prefix", "cardinality_prefixes", "cardinality_token",
    ];

    private readonly ICounter[,] _requests;
    private readonly ICounter[] _refusals;
    private readonly ICounter[] _linesRefused;

    public StatsDIngressMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var requests = factory.CreateCounter(StatsDMetricNames.Requests, "StatsD ingress requests by endpoint and outcome.", ["endpoint", "outcome"]);
        _requests = LabelledCounters.Grid(requests, EndpointNames, OutcomeNames);
        var refusals = factory.CreateCounter(StatsDMetricNames.Refusals, "StatsD ingress requests refused, by reason.", ["reason"]);
        _refusals = LabelledCounters.Children(refusals, ReasonNames);
        var linesRefused = factory.CreateCounter(StatsDMetricNames.LinesRefused, "StatsD lines refused one by one (the cardinality guard), by reason; the rest of their request went on.", ["reason"]);
        _linesRefused = LabelledCounters.Children(linesRefused, ReasonNames);
        LinesAccepted = factory.CreateCounter(StatsDMetricNames.LinesAccepted, "StatsD lines handed to the outbox.");
        SampledOut = factory.CreateCounter(StatsDMetricNames.SampledOut, "Metrics skipped by their sample rate.");
    }

    public ICounter LinesAccepted { get; }

    public ICounter SampledOut { get; }

    public void Request(StatsDIngressEndpoint endpoint, int statusCode) =>
        _requests[(int)endpoint, OutcomeIndex(statusCode)].Inc();

    public void Refusal(StatsDRefusal reason) => _refusals[(int)reason].Inc();

    public void LineRefused(StatsDRefusal reason) => _linesRefused[(int)reason].Inc();

    public static string ReasonName(StatsDRefusal reason) => ReasonNames[(int)reason];

    private static int OutcomeIndex(int statusCode) => statusCode switch
    {
        < 400 => 0,
        401 => 2,
        403 => 3,
        413 => 4,
        415 => 5,
        429 => 7,
        >= 500 => 6,
        _ => 1,
    };
}

using CloudProxy.Core.Metrics;
using Prometheus;

namespace CloudProxy.StatsD.Ingress;

/// <summary>The ingress's counters; label children are resolved once, not per request.</summary>
internal sealed class StatsDIngressMetrics
{
    private readonly ICounter[,] _requests;
    private readonly ICounter[] _refusals;
    private readonly ICounter[] _linesRefused;

    public StatsDIngressMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var requests = factory.CreateCounter(StatsDMetricNames.Requests, "StatsD ingress requests by endpoint and outcome.", ["endpoint", "outcome"]);
        _requests = LabelledCounters.GridByValue<StatsDIngressEndpoint, Outcome>(requests, StatsDIngressLabels.Of, Label);
        var refusals = factory.CreateCounter(StatsDMetricNames.Refusals, "StatsD ingress requests refused, by reason.", ["reason"]);
        _refusals = LabelledCounters.ByValue<StatsDRefusal>(refusals, StatsDIngressLabels.Of);
        var linesRefused = factory.CreateCounter(StatsDMetricNames.LinesRefused, "StatsD lines refused one by one (the cardinality guard), by reason; the rest of their request went on.", ["reason"]);
        _linesRefused = LabelledCounters.ByValue<StatsDRefusal>(linesRefused, StatsDIngressLabels.Of);
        LinesAccepted = factory.CreateCounter(StatsDMetricNames.LinesAccepted, "StatsD lines handed to the outbox.");
        SampledOut = factory.CreateCounter(StatsDMetricNames.SampledOut, "Metrics skipped by their sample rate.");
    }

    public ICounter LinesAccepted { get; }

    public ICounter SampledOut { get; }

    public void Request(StatsDIngressEndpoint endpoint, int statusCode) =>
        _requests[(int)endpoint, (int)OutcomeOf(statusCode)].Inc();

    public void Refusal(StatsDRefusal reason) => _refusals[(int)reason].Inc();

    public void LineRefused(StatsDRefusal reason) => _linesRefused[(int)reason].Inc();

    public static string ReasonName(StatsDRefusal reason) => StatsDIngressLabels.Of(reason);

    /// <summary>The <c>outcome</c> label of the request counter.</summary>
    internal enum Outcome
    {
        Ok,
        BadRequest,
        Unauthorized,
        Forbidden,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unavailable,
        TooManyRequests,
    }

    internal static Outcome OutcomeOf(int statusCode) => statusCode switch
    {
        < 400 => Outcome.Ok,
        401 => Outcome.Unauthorized,
        403 => Outcome.Forbidden,
        413 => Outcome.PayloadTooLarge,
        415 => Outcome.UnsupportedMediaType,
        429 => Outcome.TooManyRequests,
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
        Outcome.Unavailable => "unavailable",
        Outcome.TooManyRequests => "too_many_requests",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "no label for this outcome"),
    };
}

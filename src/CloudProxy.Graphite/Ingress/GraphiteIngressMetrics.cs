using Prometheus;

namespace CloudProxy.Graphite.Ingress;

/// <summary>The gateway's counters, created once from the host's metric factory.</summary>
internal sealed class GraphiteIngressMetrics(IMetricFactory factory)
{
    private readonly Counter _requests = factory.CreateCounter(GraphiteMetricNames.Requests, "Gateway requests by endpoint and status.", ["endpoint", "code"]);
    private readonly Counter _refusals = factory.CreateCounter(GraphiteMetricNames.Refusals, "Whole requests refused, by why.", ["reason"]);

    public Counter PointsAccepted { get; } = factory.CreateCounter(GraphiteMetricNames.PointsAccepted, "Good points handed to the outbox.");

    public void Request(string endpoint, int code) => _requests.WithLabels(endpoint, code.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();

    public void Refusal(string reason) => _refusals.WithLabels(reason).Inc();
}

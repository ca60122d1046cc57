using Prometheus;

namespace CloudProxy.Graphite.Forwarder;

/// <summary>The forwarder's instruments; per-destination children are taken by <see cref="For"/>.</summary>
internal sealed class GraphiteForwarderMetrics
{
    private readonly Gauge _queued;
    private readonly Counter _sent;
    private readonly Counter _spooled;
    private readonly Gauge _spoolPoints;
    private readonly Counter _replayed;
    private readonly Counter _dropped;
    private readonly Gauge _connected;
    private readonly Counter _connects;

    public GraphiteForwarderMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        string[] destination = ["destination"];
        _queued = factory.CreateGauge(GraphiteMetricNames.DestinationQueued, "Points waiting in memory for the destination.", destination);
        _sent = factory.CreateCounter(GraphiteMetricNames.DestinationSent, "Points written to the destination.", destination);
        _spooled = factory.CreateCounter(GraphiteMetricNames.DestinationSpooled, "Points written to the destination's disk spool, by why.", ["destination", "reason"]);
        _spoolPoints = factory.CreateGauge(GraphiteMetricNames.DestinationSpoolPoints, "Points waiting in the destination's disk spool.", destination);
        _replayed = factory.CreateCounter(GraphiteMetricNames.DestinationReplayed, "Points sent from the spool after the destination came back.", destination);
        _dropped = factory.CreateCounter(GraphiteMetricNames.DestinationDropped, "Points that could not be kept for the destination, by why.", ["destination", "reason"]);
        _connected = factory.CreateGauge(GraphiteMetricNames.DestinationConnected, "1 while connected to the destination.", destination);
        _connects = factory.CreateCounter(GraphiteMetricNames.DestinationConnects, "Connections opened to the destination.", destination);
        EnvelopesDropped = factory.CreateCounter(GraphiteMetricNames.EnvelopesDropped, "Envelopes answered Drop.", ["reason"]);
        RoutingDropped = factory.CreateCounter(GraphiteMetricNames.RoutingDropped, "Points the routes file sent nowhere: blackhole (a match sent them there, or only rewrites matched), no_match.", ["reason"]);
        Aggregated = factory.CreateCounter(GraphiteMetricNames.Aggregated, "Points the aggregation rules emitted (one per active interval per compute).");
        RoutingRewritten = factory.CreateCounter(GraphiteMetricNames.RoutingRewritten, "Points whose name a rewrite rule changed.");
    }

    public Counter RoutingDropped { get; }

    public Counter RoutingRewritten { get; }

    public Counter Aggregated { get; }

    public Counter EnvelopesDropped { get; }

    public Destination For(string name) => new(
        _queued.WithLabels(name), _sent.WithLabels(name), _spooled, name, _spoolPoints.WithLabels(name),
        _replayed.WithLabels(name), _dropped, _connected.WithLabels(name), _connects.WithLabels(name));

    public sealed class Destination(
        IGauge queued, ICounter sent, Counter spooled, string name, IGauge spoolPoints, ICounter replayed, Counter dropped, IGauge connected, ICounter connects)
    {
        public IGauge Queued { get; } = queued;

        public ICounter Sent { get; } = sent;

        public IGauge SpoolPoints { get; } = spoolPoints;

        public ICounter Replayed { get; } = replayed;

        public IGauge Connected { get; } = connected;

        public ICounter Connects { get; } = connects;

        public void Spooled(string reason, int points) => spooled.WithLabels(name, reason).Inc(points);

        public void Dropped(string reason, int points) => dropped.WithLabels(name, reason).Inc(points);
    }
}

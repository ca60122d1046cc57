using Prometheus;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>The forwarder's counters, created once from the host's metric factory.</summary>
internal sealed class StatsDForwarderMetrics
{
    public StatsDForwarderMetrics(IMetricFactory factory, StatsDForwarderProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var label = protocol == StatsDForwarderProtocol.Tcp ? "tcp" : "udp";
        string[] protocolLabel = ["protocol"];
        LinesSent = factory.CreateCounter(StatsDMetricNames.LinesSent, "StatsD lines sent upstream.", protocolLabel).WithLabels(label);
        DatagramsSent = factory.CreateCounter(StatsDMetricNames.DatagramsSent, "Datagrams (UDP) or writes (TCP) sent upstream.", protocolLabel).WithLabels(label);
        BytesSent = factory.CreateCounter(StatsDMetricNames.BytesSent, "Bytes sent upstream.", protocolLabel).WithLabels(label);
        SendErrors = factory.CreateCounter(StatsDMetricNames.SendErrors, "Socket errors sending to StatsD; the batch is retried.", protocolLabel).WithLabels(label);
        LinesDelivered = factory.CreateCounter(StatsDMetricNames.LinesDelivered, "StatsD lines delivered as far as can be known (UDP: no port unreachable came back).", protocolLabel).WithLabels(label);
        LinesResent = factory.CreateCounter(StatsDMetricNames.LinesResent, "Lines sent again because the daemon was unreachable when they were sent (possible duplicates).");
        LinesUnconfirmed = factory.CreateCounter(StatsDMetricNames.LinesUnconfirmed, "Lines taken as delivered unchecked because the UDP window was full.");
        DaemonDown = factory.CreateGauge(StatsDMetricNames.DaemonDown, "1 while lines are held back because the StatsD daemon is unreachable.");
        OversizeLines = factory.CreateCounter(StatsDMetricNames.OversizeLines, "Lines longer than MaxDatagramBytes, sent alone.");
        var dropped = factory.CreateCounter(StatsDMetricNames.LinesDropped, "Lines that can never be sent.", ["reason"]);
        LinesTooLarge = dropped.WithLabels("too_large");
        LinesNotKept = dropped.WithLabels("resend_not_kept");
        var envelopes = factory.CreateCounter(StatsDMetricNames.EnvelopesDropped, "Envelopes answered Drop.", ["reason"]);
        UnknownKind = envelopes.WithLabels("unknown_kind");
    }

    public ICounter LinesSent { get; }

    public ICounter DatagramsSent { get; }

    public ICounter BytesSent { get; }

    public ICounter SendErrors { get; }

    public ICounter LinesDelivered { get; }

    public ICounter LinesResent { get; }

    public ICounter LinesUnconfirmed { get; }

    public Gauge DaemonDown { get; }

    public ICounter OversizeLines { get; }

    public ICounter LinesTooLarge { get; }

    /// <summary>Unconfirmed lines that should have been sent again but the spool could not keep.</summary>
    public ICounter LinesNotKept { get; }

    public ICounter UnknownKind { get; }
}

using CloudProxy.Core.Status;

namespace CloudProxy.Graphite.Forwarder;

/// <summary>The forwarder's queues for <c>/_status</c>: points in memory and on disk, over all destinations.</summary>
internal sealed class GraphiteQueueDepth(GraphiteForwarder forwarder, bool spool) : IQueueDepth
{
    public string Name => spool ? "graphite_destination_spool_points" : "graphite_destination_queue_points";

    public long Depth => forwarder.Links.Sum(l => spool ? l.SpooledPoints : l.QueuedPoints);
}

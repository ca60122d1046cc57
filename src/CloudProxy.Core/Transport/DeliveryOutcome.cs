namespace CloudProxy.Core.Transport;

/// <summary>What a forwarder did with one envelope. Core decides what each means for the envelope (see <see cref="Delivery.DeliveryGate"/>).</summary>
public enum DeliveryOutcome
{
    /// <summary>Delivered (or handed to a fire-and-forget protocol such as UDP without error).</summary>
    Success = 0,

    /// <summary>This envelope cannot go now (an upstream rate-limits it, one of its upstreams is down): keep it and try it later.</summary>
    Retry = 1,

    /// <summary>Can never be delivered (malformed, unknown kind). Quarantined and counted, never offered again.</summary>
    Drop = 2,

    /// <summary>
    /// The forwarder's upstream is down as a whole (nothing about this envelope): when every envelope of a batch
    /// says so, Core keeps the batch where it is and probes again later instead of copying it elsewhere.
    /// </summary>
    Unavailable = 3,
}

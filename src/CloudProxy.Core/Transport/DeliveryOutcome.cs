namespace CloudProxy.Core.Transport;

/// <summary>What a forwarder did with one envelope; maps one to one onto Dapr's SUCCESS / RETRY / DROP.</summary>
public enum DeliveryOutcome
{
    /// <summary>Delivered (or handed to a fire-and-forget protocol such as UDP without error).</summary>
    Success = 0,

    /// <summary>Could not be delivered now; the broker (or the spool) must offer it again later.</summary>
    Retry = 1,

    /// <summary>Can never be delivered (malformed, unknown kind). Counted, never offered again.</summary>
    Drop = 2,
}

using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Outbox;

public enum OutboxResult
{
    /// <summary>Queued in memory; will be published shortly.</summary>
    Accepted = 0,

    /// <summary>Memory queue full (or broker down): written to the disk spool; will be replayed.</summary>
    Spooled = 1,

    /// <summary>Memory and spool full: not accepted. The caller must answer 503/429 so the client retries.</summary>
    Refused = 2,
}

/// <summary>
/// Where an ingress hands an envelope. Never waits on the network; at worst it writes to the local spool.
/// </summary>
public interface IOutbox
{
    OutboxResult TryEnqueue(Envelope envelope);
}

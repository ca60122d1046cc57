using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Outbox;

public enum OutboxResult
{
    /// <summary>In the topic's log (on disk, unless the durability is Memory): it will be delivered.</summary>
    Accepted = 0,

    /// <summary>Not accepted (the log is at its disk bound, or the disk failed). The caller answers 503/429 so the client retries.</summary>
    Refused = 1,
}

/// <summary>Where an ingress hands an envelope. Completes once the envelope is durable; never waits on the network.</summary>
public interface IOutbox
{
    ValueTask<OutboxResult> EnqueueAsync(Envelope envelope);
}

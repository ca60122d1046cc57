using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Transport;

/// <summary>
/// Hands batches from the outbox to the broker. Embedded: straight to the in-process handler. Dapr: bulk
/// publish through the sidecar.
/// </summary>
public interface IEnvelopePublisher
{
    /// <summary>
    /// Publishes one batch, all for <paramref name="topic"/>. Returns the indexes of the entries that were
    /// not accepted and must be tried again (empty when all went through). Throws when the broker could not
    /// be reached at all; the caller then treats the whole batch as failed.
    /// </summary>
    Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken);

    /// <summary>
    /// How to read the indexes <see cref="PublishAsync"/> returns. False (a broker): the transport refused them,
    /// so the outbox backs off and spills new envelopes to disk. True (the in-process transport): the transport
    /// worked and a forwarder deferred them (its upstream is down or rate-limited), so only those are spooled
    /// and replayed later while everything else keeps flowing.
    /// </summary>
    bool FailuresAreDeferrals => false;
}

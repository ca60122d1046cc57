using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Transport;

/// <summary>
/// Hands batches from a topic's outbox log to the transport. Embedded: straight to the forwarder in this
/// process (through <see cref="Delivery.DeliveryGate"/>). Dapr: bulk publish through the sidecar.
/// </summary>
public interface IEnvelopePublisher
{
    /// <summary>
    /// Publishes one batch, all for <paramref name="topic"/>. Returns the indexes of the entries that were not
    /// taken and must be offered again (empty when all went through); the outbox keeps them, backs off and
    /// offers them again. Throws when the transport could not be reached at all (the whole batch is kept).
    /// What can never be published is the publisher's to quarantine; it then counts as taken.
    /// </summary>
    Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken);
}

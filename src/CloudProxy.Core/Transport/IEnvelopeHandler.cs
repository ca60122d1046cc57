using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Transport;

/// <summary>
/// The forwarder side of a topic. Transports (embedded, Dapr) call it with batches; it writes one outcome per
/// envelope into <c>outcomes</c> (same index). It must not throw for a bad envelope: that is a Drop.
/// </summary>
public interface IEnvelopeHandler
{
    /// <summary>The topic this handler subscribes to (from the module's options).</summary>
    string Topic { get; }

    ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken);
}

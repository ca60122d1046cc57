using CloudProxy.Core.Delivery;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;

namespace CloudProxy.Core.Embedded;

/// <summary>
/// The in-process transport: a publish is a direct call to this process's forwarder for the topic, through
/// the <see cref="DeliveryGate"/>. What the gate did not keep (the forwarder's upstream is down as a whole, or
/// its deferral log is full) comes back as failed indexes and stays in the outbox log.
/// </summary>
internal sealed class EmbeddedPublisher(DeliveryGate gate) : IEnvelopePublisher
{
    public async Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var outcomes = await gate.DeliverAsync(topic, batch, canHold: true, cancellationToken);
        List<int>? kept = null;
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i] == DeliveryOutcome.Retry)
            {
                (kept ??= []).Add(i);
            }
        }

        return (IReadOnlyList<int>?)kept ?? [];
    }
}

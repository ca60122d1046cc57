using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Transport;

namespace CloudProxy.Core.Embedded;

/// <summary>
/// The in-process transport: a publish is a direct call to the forwarder registered for the topic. Retry
/// outcomes come back as failed indexes, so they take the same spool-and-replay path as a broker outage.
/// </summary>
public sealed class EmbeddedPublisher : IEnvelopePublisher
{
    private readonly Dictionary<string, IEnvelopeHandler> _handlers;
    private readonly CoreMetrics _metrics;

    public EmbeddedPublisher(IEnumerable<IEnvelopeHandler> handlers, CoreMetrics metrics)
    {
        _handlers = handlers.ToDictionary(h => h.Topic, StringComparer.Ordinal);
        _metrics = metrics;
    }

    public async Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_handlers.TryGetValue(topic, out var handler))
        {
            throw new InvalidOperationException($"No forwarder runs in this process for topic '{topic}'.");
        }

        var outcomes = new DeliveryOutcome[batch.Count];
        await handler.HandleAsync(batch, outcomes, cancellationToken);
        return DeliveryCounting.CountAndCollectRetries(_metrics, topic, outcomes);
    }
}

/// <summary>Counts forwarder outcomes the same way for every transport.</summary>
public static class DeliveryCounting
{
    public static IReadOnlyList<int> CountAndCollectRetries(CoreMetrics metrics, string topic, ReadOnlySpan<DeliveryOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        List<int>? retries = null;
        int success = 0, drop = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            switch (outcomes[i])
            {
                case DeliveryOutcome.Success:
                    success++;
                    break;
                case DeliveryOutcome.Drop:
                    drop++;
                    break;
                default:
                    (retries ??= []).Add(i);
                    break;
            }
        }

        metrics.Delivered.WithLabels(topic, "success").Inc(success);
        metrics.Delivered.WithLabels(topic, "drop").Inc(drop);
        metrics.Delivered.WithLabels(topic, "retry").Inc(retries?.Count ?? 0);
        return (IReadOnlyList<int>?)retries ?? [];
    }
}

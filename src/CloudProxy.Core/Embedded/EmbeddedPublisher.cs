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
    private readonly TimeProvider _time;

    public EmbeddedPublisher(IEnumerable<IEnvelopeHandler> handlers, CoreMetrics metrics, TimeProvider time)
    {
        _handlers = handlers.ToDictionary(h => h.Topic, StringComparer.Ordinal);
        _metrics = metrics;
        _time = time;
    }

    /// <summary>A Retry from a forwarder is a deferral: the call itself cannot fail to arrive.</summary>
    public bool FailuresAreDeferrals => true;

    public async Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_handlers.TryGetValue(topic, out var handler))
        {
            throw new InvalidOperationException($"No forwarder runs in this process for topic '{topic}'.");
        }

        var outcomes = new DeliveryOutcome[batch.Count];
        await handler.HandleAsync(batch, outcomes, cancellationToken);
        return DeliveryCounting.CountAndCollectRetries(_metrics, topic, batch, outcomes, _time.GetUtcNow());
    }
}

/// <summary>Counts forwarder outcomes the same way for every transport.</summary>
public static class DeliveryCounting
{
    /// <summary>
    /// Counts each outcome, observes the receive-to-delivery latency of each delivered envelope, and returns the
    /// indexes to retry. <paramref name="batch"/> and <paramref name="outcomes"/> share indexes.
    /// </summary>
    public static IReadOnlyList<int> CountAndCollectRetries(
        CoreMetrics metrics, string topic, IReadOnlyList<Envelope> batch, ReadOnlySpan<DeliveryOutcome> outcomes, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(batch);
        var latency = metrics.DeliveryLatency.WithLabels(topic);
        List<int>? retries = null;
        int success = 0, drop = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            switch (outcomes[i])
            {
                case DeliveryOutcome.Success:
                    success++;
                    // An envelope without a receive time (an old format) has no latency to report.
                    if (batch[i].ReceivedAt != default)
                    {
                        latency.Observe(Math.Max(0, (now - batch[i].ReceivedAt).TotalSeconds));
                    }

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

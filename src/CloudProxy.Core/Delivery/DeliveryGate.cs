using System.Collections.Frozen;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Logging;

namespace CloudProxy.Core.Delivery;

/// <summary>
/// Where every transport hands envelopes to this process's forwarders, and where Core decides what a
/// forwarder's answer means, the same way for both transports:
/// <list type="bullet">
/// <item>Success: done.</item>
/// <item>Drop: can never be delivered: quarantined and counted, done.</item>
/// <item>Retry (this envelope not now), or Unavailable for only part of a batch: written to the topic's
/// durable deferral log and offered again with back-off; done as far as the transport is concerned, so a
/// broker never has to redeliver anything (Redis Streams acknowledges a message whose retries are used up,
/// Kafka re-delivers a whole failed bulk).</item>
/// <item>Unavailable for the whole batch (the upstream is down): where the caller can keep the batch (the
/// embedded outbox), it is handed back untouched and probed again later, which costs no second write; a
/// broker delivery cannot be kept, so there it is deferred like Retry.</item>
/// </list>
/// Only when the deferral log cannot take an envelope (the disk bound) is it answered "not kept" (Retry), for
/// the caller to keep or the broker to redeliver.
/// </summary>
public sealed partial class DeliveryGate
{
    private readonly FrozenDictionary<string, IEnvelopeHandler> _handlers;
    private readonly Deferrals _deferrals;
    private readonly Quarantine _quarantine;
    private readonly CoreMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<DeliveryGate> _logger;

    public DeliveryGate(
        IEnumerable<IEnvelopeHandler> handlers, Deferrals deferrals, Quarantine quarantine, CoreMetrics metrics, TimeProvider time, ILogger<DeliveryGate> logger)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(deferrals);
        var byTopic = new Dictionary<string, IEnvelopeHandler>(StringComparer.Ordinal);
        foreach (var handler in handlers)
        {
            if (!byTopic.TryAdd(handler.Topic, handler))
            {
                throw new InvalidOperationException(
                    $"Two envelope handlers subscribe to topic '{handler.Topic}'; give each handler its own topic.");
            }

            deferrals.Watch(handler.Topic);
        }

        _handlers = byTopic.ToFrozenDictionary(StringComparer.Ordinal);
        _deferrals = deferrals;
        _quarantine = quarantine;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>The topics a forwarder of this process handles, in order.</summary>
    public IReadOnlyList<string> Topics => [.. _handlers.Keys.Order(StringComparer.Ordinal)];

    public bool Handles(string topic) => _handlers.ContainsKey(topic);

    /// <summary>
    /// Delivers a batch that arrived through the transport. Each result is Success (done: delivered, deferred
    /// durably, or nothing to do), Drop (quarantined) or Retry (not kept: the caller must keep it). With
    /// <paramref name="canHold"/>, a batch the forwarder says is wholly Unavailable comes back as all Retry.
    /// </summary>
    public async ValueTask<DeliveryOutcome[]> DeliverAsync(string topic, IReadOnlyList<Envelope> batch, bool canHold, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var outcomes = await HandleAsync(topic, batch, cancellationToken);
        if (canHold && Array.TrueForAll(outcomes, o => o == DeliveryOutcome.Unavailable))
        {
            Array.Fill(outcomes, DeliveryOutcome.Retry);
            return outcomes;
        }

        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i] is DeliveryOutcome.Retry or DeliveryOutcome.Unavailable)
            {
                outcomes[i] = await _deferrals.DeferAsync(batch[i], 0) ? DeliveryOutcome.Success : DeliveryOutcome.Retry;
            }
        }

        return outcomes;
    }

    /// <summary>
    /// The forwarder's own answers (counted; Drop already quarantined), for the deferral pump, which decides
    /// itself where a Retry goes next.
    /// </summary>
    public async ValueTask<DeliveryOutcome[]> HandleAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_handlers.TryGetValue(topic, out var handler))
        {
            throw new InvalidOperationException($"No forwarder runs in this process for topic '{topic}'.");
        }

        var outcomes = new DeliveryOutcome[batch.Count];
        try
        {
            await handler.HandleAsync(batch, outcomes, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Against the contract; nothing is lost: the batch is kept and offered again.
            Log.HandlerFailed(_logger, ex, topic, batch.Count);
            Array.Fill(outcomes, DeliveryOutcome.Unavailable);
        }

        Count(topic, batch, outcomes);
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i] == DeliveryOutcome.Drop)
            {
                await _quarantine.KeepAsync(topic, batch[i], default, "forwarder_refused");
            }
        }

        return outcomes;
    }

    private void Count(string topic, IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes)
    {
        var now = _time.GetUtcNow();
        var latency = _metrics.DeliveryLatency.WithLabels(topic);
        int success = 0, drop = 0, retry = 0, unavailable = 0;
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
                case DeliveryOutcome.Unavailable:
                    unavailable++;
                    break;
                default:
                    retry++;
                    break;
            }
        }

        _metrics.Delivered.WithLabels(topic, "success").Inc(success);
        _metrics.Delivered.WithLabels(topic, "drop").Inc(drop);
        _metrics.Delivered.WithLabels(topic, "retry").Inc(retry);
        _metrics.Delivered.WithLabels(topic, "unavailable").Inc(unavailable);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.HandlerFailed, Level = LogLevel.Error, Message = "The forwarder of topic {Topic} threw on a batch of {Count}; the batch is kept and offered again")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, string topic, int count);
    }
}

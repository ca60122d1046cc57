using System.Collections.Concurrent;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>
/// A real consumer for the subscription tests: it keeps every batch it is handed and answers each envelope
/// as its <see cref="TestEnvelopes.OutcomeHeader"/> header says (success when absent; "throw" throws).
/// </summary>
internal sealed class SinkHandler(string topic) : IEnvelopeHandler
{
    private readonly ConcurrentQueue<IReadOnlyList<Envelope>> _batches = new();

    public string Topic => topic;

    public IReadOnlyList<IReadOnlyList<Envelope>> Batches => [.. _batches];

    public IReadOnlyList<Envelope> Envelopes => [.. _batches.SelectMany(b => b)];

    /// <summary>Awaited before each batch is answered (a slow forwarder).</summary>
    public Func<Task>? Before { get; set; }

    public async ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        _batches.Enqueue([.. batch]);
        if (Before is { } before)
        {
            await before();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Headers.TryGetValue(TestEnvelopes.OutcomeHeader, out var outcome);
            outcomes[i] = outcome switch
            {
                "retry" => DeliveryOutcome.Retry,
                "drop" => DeliveryOutcome.Drop,
                "throw" => throw new InvalidOperationException("handler bug"),
                _ => DeliveryOutcome.Success,
            };
        }
    }
}

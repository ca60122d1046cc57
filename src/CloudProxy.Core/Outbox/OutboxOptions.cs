namespace CloudProxy.Core.Outbox;

/// <summary>Section <c>CloudProxy:Outbox</c>: the in-memory queue between ingress and publisher.</summary>
public sealed class OutboxOptions
{
    public const string Section = "CloudProxy:Outbox";

    /// <summary>Most envelopes held in memory.</summary>
    public int Capacity { get; set; } = 100_000;

    /// <summary>Most bytes held in memory.</summary>
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Most envelopes per publish call. The pump takes what is waiting, so batches are small when it keeps up and
    /// grow to this under load; measured against a slow sidecar on the same cores, 256 let the outbox grow steadily
    /// at ~25k envelopes/s (63,000 after 30 s: one call at a time is latency bound) while 1,024 kept it under a thousand.
    /// The Dapr publisher still cuts a batch into requests of at most BulkPublishMaxBytes.
    /// </summary>
    public int BatchSize { get; set; } = 1024;

    /// <summary>
    /// How long a batch short of <see cref="BatchSize"/> waits for more envelopes before it is published
    /// (Kafka's linger.ms, whose default is also 5 ms since Kafka 4.0, KIP-1030); 0 publishes at once.
    /// </summary>
    public double LingerMilliseconds { get; set; } = 5;

    /// <summary>How long shutdown keeps publishing before it spools what is left.</summary>
    public double DrainTimeoutSeconds { get; set; } = 10;

    /// <summary>Longest wait between publish attempts while the transport is failing.</summary>
    public double MaxBackoffSeconds { get; set; } = 5;
}

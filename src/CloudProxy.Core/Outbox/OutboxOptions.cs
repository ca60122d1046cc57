using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Core.Outbox.OutboxOptions.Section, typeof(CloudProxy.Core.Outbox.OutboxOptions))]

namespace CloudProxy.Core.Outbox;

/// <summary>When an ingress answers: once the envelope is in the file, or at once.</summary>
public enum OutboxDurability
{
    /// <summary>An ingress answers 2xx once the envelope is written to its log file (default): a crash or kill loses nothing answered.</summary>
    Durable = 0,

    /// <summary>
    /// An ingress answers as soon as the envelope is queued for the log writer: faster under load, but a crash
    /// loses what the writer had not written yet: at most a quarter of <see cref="OutboxOptions.MaxBytes"/> per log
    /// waits that way (<see cref="Storage.SegmentLog.QueuedBytesLimit"/>); past it, an append waits for its write.
    /// </summary>
    Memory = 1,
}

/// <summary>Section <c>CloudProxy:Outbox</c>: each topic's log between ingress and publisher.</summary>
public sealed class OutboxOptions
{
    public const string Section = "CloudProxy:Outbox";

    [Flag("--durability")]
    [Setting("Durable: an envelope is answered once it is in the log on disk; Memory: answered at once, written in the background (a crash loses what was not written yet).")]
    public OutboxDurability Durability { get; set; } = OutboxDurability.Durable;

    [Setting("Accepted for ogre's --pusher.queue_size and polymur-gateway's -incoming-queue-cap, and no longer bounds anything: accepted data lives in the logs on disk, bounded in bytes (--spool-max-bytes), and memory holds at most MaxBytes of their heads.")]
    [Flag("--pusher.queue_size", Origin = "ogre")]
    [Flag("-incoming-queue-cap", Origin = "polymur-gateway", Help = "accepted and ignored: the queue is on disk, bounded by --spool-max-bytes")]
    public int Capacity { get; set; } = 100_000;

    [Setting("Most bytes of the logs' heads kept in memory, so the publisher reads what was just written without going to the file. A cache only: a backlog past it is read from the files, and the bound is the bytes held.")]
    public long MaxBytes { get; set; } = 32L * 1024 * 1024;

    [Setting("Most envelopes per publish call. The pump takes what is waiting, so batches are small when it keeps up and grow to this under load; measured against a slow sidecar on the same cores, 256 let the outbox grow steadily at ~25k envelopes/s (63,000 after 30 s: one call at a time is latency bound) while 1,024 kept it under a thousand. The Dapr publisher still cuts a batch into requests of at most BulkPublishMaxBytes.")]
    public int BatchSize { get; set; } = 1024;

    [Setting("How long a batch short of BatchSize waits for more envelopes before it is published (Kafka's linger.ms, whose default is also 5 ms since Kafka 4.0, KIP-1030); 0 publishes at once.")]
    public double LingerMilliseconds { get; set; } = 5;

    [Setting("How long shutdown keeps publishing what is waiting; the rest stays in the log for the next start.")]
    public double DrainTimeoutSeconds { get; set; } = 10;

    [Setting("Longest wait between publish attempts while the transport is failing.")]
    public double MaxBackoffSeconds { get; set; } = 5;
}

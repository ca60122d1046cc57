using Microsoft.Extensions.Options;

namespace CloudProxy.Transport.Dapr;

/// <summary>
/// Dapr-only settings. They live in the same section as Core's <c>TransportOptions</c>
/// (<c>CloudProxy:Transport</c>) so every transport key is in one place, but Core knows nothing of them.
/// </summary>
internal sealed class DaprTransportOptions
{
    /// <summary>Name of the Dapr state store component (<c>components/statestore.yaml</c>).</summary>
    public string StateStoreName { get; set; } = "statestore";

    /// <summary>
    /// Largest delivery body the subscription endpoints read. A bulk delivery carries up to
    /// BulkSubscribeMaxMessages CloudEvents of 4/3 an envelope each (components/README.md "Sizes": ten Graphite
    /// batches of 2 MiB are 28 MB), and a delivery refused 413 is retried by daprd and then acknowledged, i.e.
    /// lost: so this sits above every delivery the size table allows. Only daprd, on loopback, sends it.
    /// </summary>
    public long MaxDeliveryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// A bulk publish is split into requests no bigger than this: daprd refuses gRPC messages over its
    /// 4 MB <c>--max-body-size</c> default, and one refused request would fail the whole batch.
    /// </summary>
    public int BulkPublishMaxBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>
    /// Largest message the broker takes, as it sees it: the CloudEvent daprd wraps around an envelope (its bytes in
    /// <c>data_base64</c>, about 4/3 of the envelope, plus ~1 KB of attributes). Kafka's <c>maxMessageBytes</c>
    /// (components/kafka: 1 MiB); 0 when the broker has no limit of its own (Redis Streams). An envelope that can
    /// never fit is quarantined at once instead of being offered to the broker forever.
    /// </summary>
    public long MaxMessageBytes { get; set; }

    /// <summary>Deadline of one publish call to the sidecar (connect included).</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class DaprTransportOptionsValidator : IValidateOptions<DaprTransportOptions>
{
    private const string Prefix = "CloudProxy:Transport:";

    public ValidateOptionsResult Validate(string? name, DaprTransportOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.StateStoreName))
        {
            failures.Add($"{Prefix}StateStoreName must name the Dapr state store component.");
        }

        if (options.MaxDeliveryBytes < 64 * 1024)
        {
            failures.Add($"{Prefix}MaxDeliveryBytes must be at least 65536 (got {options.MaxDeliveryBytes}); Dapr delivers up to 4 MB by default.");
        }

        if (options.BulkPublishMaxBytes < 1024)
        {
            failures.Add($"{Prefix}BulkPublishMaxBytes must be at least 1024 (got {options.BulkPublishMaxBytes}).");
        }

        if (options.MaxMessageBytes is < 0 or (> 0 and < 64 * 1024))
        {
            failures.Add($"{Prefix}MaxMessageBytes must be 0 (no broker limit) or at least 65536 (got {options.MaxMessageBytes}).");
        }

        if (options.PublishTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}PublishTimeout must be positive (got {options.PublishTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

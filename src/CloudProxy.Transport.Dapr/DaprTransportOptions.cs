using CloudProxy.Core.Options;
using Microsoft.Extensions.Options;

[assembly: SettingSection(CloudProxy.Core.Transport.TransportOptions.Section, typeof(CloudProxy.Transport.Dapr.DaprTransportOptions))]

namespace CloudProxy.Transport.Dapr;

/// <summary>
/// Dapr-only settings. They live in the same section as Core's <c>TransportOptions</c>
/// (<c>CloudProxy:Transport</c>) so every transport key is in one place, but Core knows nothing of them.
/// </summary>
internal sealed class DaprTransportOptions
{
    [Setting("Name of the Dapr state store component (components/statestore.yaml).")]
    public string StateStoreName { get; set; } = "statestore";

    [Setting("Largest delivery body the subscription endpoints read. A bulk delivery carries up to BulkSubscribeMaxMessages CloudEvents of 4/3 an envelope each (components/README.md \"Sizes\": ten Graphite batches of 2 MiB are 28 MB), and a delivery refused 413 is retried by daprd and then acknowledged, i.e. lost: so this sits above every delivery the size table allows. Only daprd, on loopback, sends it.")]
    public long MaxDeliveryBytes { get; set; } = 64L * 1024 * 1024;

    [Setting("A bulk publish is split into requests no bigger than this: daprd refuses gRPC messages over its 4 MB --max-body-size default, and one refused request would fail the whole batch.")]
    public int BulkPublishMaxBytes { get; set; } = 3 * 1024 * 1024;

    [Setting("Largest message the broker takes, as it sees it: the CloudEvent daprd wraps around an envelope (its bytes in data_base64, about 4/3 of the envelope, plus ~1 KB of attributes). Kafka's maxMessageBytes (components/kafka: 1 MiB); 0 when the broker has no limit of its own (Redis Streams). An envelope that can never fit is quarantined at once instead of being offered to the broker forever.")]
    public long MaxMessageBytes { get; set; }

    [Setting("Deadline of one publish call to the sidecar (connect included).")]
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

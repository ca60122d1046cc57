using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Core.Transport.TransportOptions.Section, typeof(CloudProxy.Core.Transport.TransportOptions))]

namespace CloudProxy.Core.Transport;

public enum TransportKind
{
    Embedded = 0,
    Dapr = 1,
}

/// <summary>Section <c>CloudProxy:Transport</c>.</summary>
public sealed class TransportOptions
{
    public const string Section = "CloudProxy:Transport";

    [Setting("embedded (default: same process, no sidecar) or dapr.")]
    [Flag("--transport")]
    public TransportKind Kind { get; set; } = TransportKind.Embedded;

    [Setting("Name of the Dapr pub/sub component (components/pubsub*.yaml all use this name).")]
    [Flag("--pubsub-name")]
    public string PubSubName { get; set; } = "pubsub";

    [Setting("Use Dapr's bulk publish API (alpha); falls back to single publishes when the sidecar refuses it.")]
    public bool BulkPublish { get; set; } = true;

    [Setting("Largest number of messages Dapr hands the app in one bulk delivery.")]
    public int BulkSubscribeMaxMessages { get; set; } = 100;

    [Setting("How long Dapr waits to fill a bulk delivery, in milliseconds.")]
    public int BulkSubscribeMaxAwaitMs { get; set; } = 100;
}

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

    /// <summary><c>embedded</c> (default: same process, no sidecar) or <c>dapr</c>.</summary>
    public TransportKind Kind { get; set; } = TransportKind.Embedded;

    /// <summary>Name of the Dapr pub/sub component (components/pubsub*.yaml all use this name).</summary>
    public string PubSubName { get; set; } = "pubsub";

    /// <summary>Use Dapr's bulk publish API (alpha); falls back to single publishes when the sidecar refuses it.</summary>
    public bool BulkPublish { get; set; } = true;

    /// <summary>Largest number of messages Dapr hands the app in one bulk delivery.</summary>
    public int BulkSubscribeMaxMessages { get; set; } = 100;

    /// <summary>How long Dapr waits to fill a bulk delivery, in milliseconds.</summary>
    public int BulkSubscribeMaxAwaitMs { get; set; } = 100;
}

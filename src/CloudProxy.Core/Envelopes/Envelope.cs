namespace CloudProxy.Core.Envelopes;

/// <summary>
/// What travels from an ingress to a forwarder: the raw payload bytes plus what the forwarder needs to
/// deliver them. Immutable; the payload is never copied on the hot path.
/// </summary>
public sealed class Envelope
{
    /// <summary>Version of <see cref="EnvelopeCodec"/>'s wire format this envelope is written in.</summary>
    public const byte CurrentFormatVersion = 1;

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    /// <summary>Pub/sub topic the envelope is published to (from the module's options).</summary>
    public required string Topic { get; init; }

    /// <summary>What the payload is, e.g. <c>statsd.lines</c>. Lets a forwarder refuse what it cannot read.</summary>
    public required string Kind { get; init; }

    /// <summary>Tenant, API key name or project the payload belongs to, when the protocol has one.</summary>
    public string? Key { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>W3C trace context of the ingress request, so the forwarder's span continues the trace.</summary>
    public string? TraceParent { get; init; }

    public string? TraceState { get; init; }

    /// <summary>Protocol headers the forwarder needs (auth, content type…). Small and bounded.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = NoHeaders;

    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Approximate memory the envelope holds, used for the outbox's byte bound.</summary>
    public int Size => Payload.Length + 128 + (Headers.Count * 64);
}

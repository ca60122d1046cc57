using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Delivery;

/// <summary>
/// For a forwarder that has done part of an envelope's work (delivered it to one upstream of two) and must
/// keep the rest for later: the envelope given is kept in its topic's durable deferral log and offered to the
/// forwarder again, with back-off. The forwarder then answers Success for the original.
/// </summary>
public interface IDeferrals
{
    /// <summary>True once <paramref name="envelope"/> is durable; false when it cannot be kept (the disk bound).</summary>
    ValueTask<bool> DeferAsync(Envelope envelope);
}

using CloudProxy.Core.Envelopes;

namespace CloudProxy.Core.Spool;

/// <summary>An envelope read back from the spool, with the row id to delete once it is published.</summary>
public readonly record struct SpooledEnvelope(long Id, Envelope Envelope);

/// <summary>Durable overflow for the outbox. Thread-safe; one reader (the pump), many writers.</summary>
public interface ISpool
{
    long Count { get; }

    long Bytes { get; }

    /// <summary>Writes all of <paramref name="envelopes"/> or none; false when they do not fit.</summary>
    bool TryAppend(IReadOnlyList<Envelope> envelopes);

    /// <summary>Oldest first, at most <paramref name="max"/>. Rows that fail to decode are deleted and counted by the caller.</summary>
    IReadOnlyList<SpooledEnvelope> ReadOldest(int max, out int corrupt);

    void Delete(IEnumerable<long> ids);
}

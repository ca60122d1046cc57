namespace CloudProxy.StatsD.Forwarder;

/// <summary>A connection to the StatsD daemon. Not thread-safe: the forwarder serializes calls.</summary>
internal interface IStatsDSender : IAsyncDisposable
{
    /// <summary>Sends one datagram (UDP) or chunk of lines (TCP). Throws on a socket error.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Drops the connection after an error; the next send opens a new one.</summary>
    void Reset();
}

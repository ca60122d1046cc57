namespace CloudProxy.Core.State;

/// <summary>
/// The one small interface behind API keys and cache entries. Two implementations: the Dapr state store
/// (Transport.Dapr) and the embedded one (SQLite for keys, memory for cache).
/// </summary>
public interface IStateStore
{
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/>; with <paramref name="timeToLive"/> it expires by itself.</summary>
    Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

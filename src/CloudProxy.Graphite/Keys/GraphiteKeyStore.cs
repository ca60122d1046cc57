using System.Text.Json;
using CloudProxy.Core.State;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite.Keys;

/// <summary>The outcome of a key operation: the key (for create/regenerate) or why it failed.</summary>
internal readonly record struct GraphiteKeyChange(GraphiteApiKey? Key, string? Error, bool NotFound = false, bool Conflict = false);

/// <summary>
/// pgw-key's operations (list, create, regen, delete) over <see cref="IStateStore"/>: the keys are one JSON
/// document under one state key, so every store (Dapr's or the embedded SQLite one) can hold them.
/// Writes are read-modify-write; key administration is rare and done by one operator at a time.
/// </summary>
internal sealed class GraphiteKeyStore(IStateStore store, IOptions<GraphiteOptions> options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly string _stateKey = options.Value.Gateway.KeysStateKey;

    public async Task<GraphiteKeyDocument> LoadAsync(CancellationToken cancellationToken)
    {
        var bytes = await store.GetAsync(_stateKey, cancellationToken);
        return bytes is null || bytes.Length == 0
            ? new GraphiteKeyDocument()
            : JsonSerializer.Deserialize<GraphiteKeyDocument>(bytes) ?? new GraphiteKeyDocument();
    }

    public Task<GraphiteKeyChange> CreateAsync(string name, bool? prefix, CancellationToken cancellationToken) =>
        ChangeAsync(name, (document, existing) =>
        {
            if (existing is not null)
            {
                return new GraphiteKeyChange(null, $"key {name} already exists", Conflict: true);
            }

            var key = new GraphiteApiKey { Name = name, Key = GraphiteApiKey.NewSecret(), Prefix = prefix, Created = time.GetUtcNow() };
            document.Keys.Add(key);
            return new GraphiteKeyChange(key, null);
        }, cancellationToken);

    public Task<GraphiteKeyChange> RegenerateAsync(string name, CancellationToken cancellationToken) =>
        ChangeAsync(name, (document, existing) =>
        {
            if (existing is null)
            {
                return new GraphiteKeyChange(null, $"key {name} doesn't exist", NotFound: true);
            }

            var key = new GraphiteApiKey
            {
                Name = name, Key = GraphiteApiKey.NewSecret(), Prefix = existing.Prefix, Created = time.GetUtcNow(),
                PointsPerSecond = existing.PointsPerSecond, Burst = existing.Burst,
            };
            document.Keys[document.Keys.IndexOf(existing)] = key;
            return new GraphiteKeyChange(key, null);
        }, cancellationToken);

    /// <summary>
    /// Sets the key's quota (<paramref name="burst"/> null: one second's worth) or, with
    /// <paramref name="pointsPerSecond"/> null, removes it. The secret stays.
    /// </summary>
    public Task<GraphiteKeyChange> SetQuotaAsync(string name, double? pointsPerSecond, double? burst, CancellationToken cancellationToken)
    {
        if (pointsPerSecond is { } rate && GraphiteQuotaBucket.Problem(rate, burst ?? Math.Max(1, rate)) is { } problem)
        {
            return Task.FromResult(new GraphiteKeyChange(null, problem));
        }

        if (pointsPerSecond is null && burst is not null)
        {
            return Task.FromResult(new GraphiteKeyChange(null, "a burst needs a points per second rate"));
        }

        return ChangeAsync(name, (document, existing) =>
        {
            if (existing is null)
            {
                return new GraphiteKeyChange(null, $"key {name} doesn't exist", NotFound: true);
            }

            var key = new GraphiteApiKey
            {
                Name = name, Key = existing.Key, Prefix = existing.Prefix, Created = existing.Created,
                PointsPerSecond = pointsPerSecond, Burst = burst,
            };
            document.Keys[document.Keys.IndexOf(existing)] = key;
            return new GraphiteKeyChange(key, null);
        }, cancellationToken);
    }

    public Task<GraphiteKeyChange> DeleteAsync(string name, CancellationToken cancellationToken) =>
        ChangeAsync(name, (document, existing) =>
        {
            if (existing is null)
            {
                return new GraphiteKeyChange(null, $"key {name} doesn't exist", NotFound: true);
            }

            document.Keys.Remove(existing);
            return new GraphiteKeyChange(existing, null);
        }, cancellationToken);

    public void Dispose() => _writes.Dispose();

    private async Task<GraphiteKeyChange> ChangeAsync(
        string name, Func<GraphiteKeyDocument, GraphiteApiKey?, GraphiteKeyChange> change, CancellationToken cancellationToken)
    {
        if (GraphiteApiKey.CheckName(name) is { } problem)
        {
            return new GraphiteKeyChange(null, problem);
        }

        await _writes.WaitAsync(cancellationToken);
        try
        {
            var document = await LoadAsync(cancellationToken);
            var existing = document.Keys.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));
            var result = change(document, existing);
            if (result.Error is null)
            {
                await store.SetAsync(_stateKey, JsonSerializer.SerializeToUtf8Bytes(document), timeToLive: null, cancellationToken);
            }

            return result;
        }
        finally
        {
            _writes.Release();
        }
    }
}

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.State;

/// <summary>
/// The embedded <see cref="IStateStore"/>: one SQLite table of key, value and expiry, for state that must
/// outlive a restart (API keys) when there is no Dapr sidecar. One connection behind a lock: state is small
/// and read rarely (callers cache it).
/// </summary>
public sealed class SqliteStateStore : IStateStore, IDisposable
{
    // One command at a time on the one connection; a semaphore, since the commands are awaited.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;

    public SqliteStateStore(IOptions<StateOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        var path = System.IO.Path.GetFullPath(options.Value.Path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; "
            + "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires INTEGER)";
        command.ExecuteNonQuery();
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT value FROM state WHERE key = $key AND (expires IS NULL OR expires > $now)";
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            return await command.ExecuteScalarAsync(cancellationToken) as byte[];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO state (key, value, expires) VALUES ($key, $value, $expires) "
                + "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires";
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$value", value.ToArray());
            command.Parameters.AddWithValue("$expires", timeToLive is { } ttl
                ? _time.GetUtcNow().Add(ttl).ToUnixTimeMilliseconds()
                : DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM state WHERE key = $key";
            command.Parameters.AddWithValue("$key", key);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Wait();
        _connection.Dispose();
        _gate.Dispose();
    }
}

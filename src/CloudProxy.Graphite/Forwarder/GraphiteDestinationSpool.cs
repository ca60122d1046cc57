using Microsoft.Data.Sqlite;

namespace CloudProxy.Graphite.Forwarder;

/// <summary>A block of lines spooled for one destination, with its row id so it is deleted only once sent.</summary>
internal readonly record struct GraphiteSpooledChunk(long Id, byte[] Data, int Points);

/// <summary>
/// One destination's disk spool: a SQLite file of line blocks, like Core's outbox spool (WAL, one connection
/// behind a lock) but holding already-routed lines, so a replay goes only to the destination that missed them.
/// </summary>
internal sealed class GraphiteDestinationSpool : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly long _maxBytes;
    private long _bytes;
    private long _points;

    public GraphiteDestinationSpool(string path, long maxBytes)
    {
        _maxBytes = maxBytes;
        path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            + "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, points INTEGER NOT NULL, data BLOB NOT NULL)");
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(points), 0), COALESCE(SUM(length(data)), 0) FROM chunks";
        using var reader = command.ExecuteReader();
        reader.Read();
        _points = reader.GetInt64(0);
        _bytes = reader.GetInt64(1);
    }

    public long Points => Volatile.Read(ref _points);

    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>False when the spool is full (nothing written).</summary>
    public bool TryAppend(ReadOnlySpan<byte> data, int points)
    {
        lock (_gate)
        {
            if (_bytes + data.Length > _maxBytes)
            {
                return false;
            }

            using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO chunks (points, data) VALUES ($points, $data)";
            command.Parameters.AddWithValue("$points", points);
            command.Parameters.Add("$data", SqliteType.Blob).Value = data.ToArray();
            command.ExecuteNonQuery();
            _bytes += data.Length;
            _points += points;
            return true;
        }
    }

    /// <summary>Oldest blocks first, until <paramref name="maxPoints"/> would be passed (at least one block).</summary>
    public List<GraphiteSpooledChunk> ReadOldest(int maxPoints)
    {
        var result = new List<GraphiteSpooledChunk>();
        lock (_gate)
        {
            if (_points == 0)
            {
                return result;
            }

            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id, points, data FROM chunks ORDER BY id LIMIT 64";
            using var reader = command.ExecuteReader();
            var total = 0;
            while (reader.Read())
            {
                var points = reader.GetInt32(1);
                if (result.Count > 0 && total + points > maxPoints)
                {
                    break;
                }

                result.Add(new GraphiteSpooledChunk(reader.GetInt64(0), (byte[])reader.GetValue(2), points));
                total += points;
            }
        }

        return result;
    }

    public void Delete(GraphiteSpooledChunk chunk)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM chunks WHERE id = $id";
            command.Parameters.AddWithValue("$id", chunk.Id);
            if (command.ExecuteNonQuery() > 0)
            {
                _bytes -= chunk.Data.Length;
                _points -= chunk.Points;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "called with constant SQL only")]
    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Spool;

/// <summary>
/// The spool as one SQLite table of encoded envelopes, as Sentry Relay spools to SQLite. One connection
/// behind a lock: writes are short transactions and the pump is the only reader.
/// </summary>
public sealed partial class SqliteSpool : ISpool, IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly long _maxBytes;
    private readonly CoreMetrics _metrics;
    private long _count;
    private long _bytes;

    public SqliteSpool(IOptions<SpoolOptions> options, CoreMetrics metrics, ILogger<SqliteSpool> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var settings = options.Value;
        _metrics = metrics;
        _maxBytes = settings.MaxBytes;
        var path = System.IO.Path.GetFullPath(settings.Path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        Execute("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, data BLOB NOT NULL)");
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM spool";
            using var reader = command.ExecuteReader();
            reader.Read();
            _count = reader.GetInt64(0);
            _bytes = reader.GetInt64(1);
        }

        PublishGauges();
        Log.Opened(logger, path, _count, _bytes);
    }

    public long Count => Volatile.Read(ref _count);

    public long Bytes => Volatile.Read(ref _bytes);

    public bool TryAppend(IReadOnlyList<Envelope> envelopes)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        if (envelopes.Count == 0)
        {
            return true;
        }

        var encoded = new byte[envelopes.Count][];
        long size = 0;
        for (var i = 0; i < envelopes.Count; i++)
        {
            encoded[i] = EnvelopeCodec.Encode(envelopes[i]);
            size += encoded[i].Length;
        }

        lock (_gate)
        {
            if (_bytes + size > _maxBytes)
            {
                return false;
            }

            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO spool (topic, data) VALUES ($topic, $data)";
            var topic = command.Parameters.Add("$topic", SqliteType.Text);
            var data = command.Parameters.Add("$data", SqliteType.Blob);
            for (var i = 0; i < encoded.Length; i++)
            {
                topic.Value = envelopes[i].Topic;
                data.Value = encoded[i];
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            _count += encoded.Length;
            _bytes += size;
            PublishGauges();
        }

        return true;
    }

    public IReadOnlyList<SpooledEnvelope> ReadOldest(int max, out int corrupt)
    {
        corrupt = 0;
        var result = new List<SpooledEnvelope>(Math.Min(max, 1024));
        var broken = new List<long>();
        lock (_gate)
        {
            if (_count == 0)
            {
                return result;
            }

            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT id, data FROM spool ORDER BY id LIMIT $max";
                command.Parameters.AddWithValue("$max", max);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var id = reader.GetInt64(0);
                    var bytes = (byte[])reader.GetValue(1);
                    try
                    {
                        result.Add(new SpooledEnvelope(id, EnvelopeCodec.Decode(bytes)));
                    }
                    catch (EnvelopeFormatException)
                    {
                        broken.Add(id);
                    }
                }
            }

            if (broken.Count > 0)
            {
                DeleteLocked(broken);
                corrupt = broken.Count;
            }
        }

        return result;
    }

    public void Delete(IEnumerable<long> ids)
    {
        lock (_gate)
        {
            DeleteLocked(ids);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
        }
    }

    private void DeleteLocked(IEnumerable<long> ids)
    {
        using var transaction = _connection.BeginTransaction();
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM spool WHERE id = $id RETURNING length(data)";
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        foreach (var value in ids)
        {
            id.Value = value;
            if (command.ExecuteScalar() is long length)
            {
                _count--;
                _bytes -= length;
            }
        }

        transaction.Commit();
        PublishGauges();
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private void PublishGauges()
    {
        _metrics.SpoolEnvelopes.Set(_count);
        _metrics.SpoolBytes.Set(_bytes);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.SpoolOpened, Level = LogLevel.Information, Message = "Spool {Path} opened with {Count} envelopes ({Bytes} bytes) to replay")]
        public static partial void Opened(ILogger logger, string path, long count, long bytes);
    }
}

/// <summary>A spool that holds nothing: used when <c>CloudProxy:Spool:Enabled</c> is false.</summary>
public sealed class DisabledSpool : ISpool
{
    public long Count => 0;

    public long Bytes => 0;

    public bool TryAppend(IReadOnlyList<Envelope> envelopes) => false;

    public IReadOnlyList<SpooledEnvelope> ReadOldest(int max, out int corrupt)
    {
        corrupt = 0;
        return [];
    }

    public void Delete(IEnumerable<long> ids)
    {
    }
}

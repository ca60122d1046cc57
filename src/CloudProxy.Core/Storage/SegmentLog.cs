using System.Buffers.Binary;
using System.Threading.Channels;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace CloudProxy.Core.Storage;

/// <summary>What became of an append.</summary>
public enum AppendResult
{
    /// <summary>In the file (durable appends), or queued for the file (non-durable ones).</summary>
    Written = 0,

    /// <summary>The log is at its disk bound: nothing was written.</summary>
    Full = 1,

    /// <summary>Writing failed (disk full, I/O error), or the log is backing off after such a failure.</summary>
    DiskError = 2,

    /// <summary>The log is closed (shutdown).</summary>
    Closed = 3,
}

/// <summary>
/// An append-only log of envelopes in segment files, in the manner of Kafka's log and Vector's disk buffer.
/// Many writers, one reader. Appends are written by one writer loop that takes every append waiting and
/// writes them with one system call (group commit), so a durable append costs a share of a write, not a
/// write each; an append completes once its bytes are in the file (the page cache: a process crash, an OOM
/// kill or a container restart cannot lose it; <see cref="FsyncPolicy"/> covers power loss). The reader
/// takes records in order, from the log's head cached in memory when it can and from the files otherwise,
/// and commits what is done; segments wholly before the committed position are deleted, so the files shrink
/// as the log drains. Every record carries a CRC: a torn tail is cut at start-up, a damaged segment is moved
/// aside and what can be read from it is salvaged.
/// </summary>
public sealed partial class SegmentLog : IAsyncDisposable
{
    private const string SegmentExtension = ".seg";
    private const int StampBytes = 8;
    private const int ChunkBytes = 64 * 1024;
    private const int MaxGroupRecords = 4096;
    private const int MaxGroupBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan DiskErrorBackoff = TimeSpan.FromSeconds(1);

    private readonly SegmentLogSettings _settings;
    private readonly ByteBudget _disk;
    private readonly ByteBudget _memory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingAppend> _pending = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    // Not disposed: a reader racing DisposeAsync may still wait on it, and a SemaphoreSlim whose wait handle was
    // never asked for holds no OS resource.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2213:Disposable fields should be disposed", Justification = "see above")]
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly Queue<CachedChunk> _cache = new();
    private readonly LogCursor _cursor;
    private readonly CancellationTokenSource _stopping = new();
    private readonly LogThrottle _writeFailedLog;
    private SafeFileHandle? _active;
    private long _nextSegmentId;
    private LogPosition _writtenEnd;
    private long _pendingRecords;
    private long _queuedBytes;
    private long _unreadRecords;
    private long _refuseUntilTicks;
    private bool _dirty;
    private TaskCompletionSource _dataSignal = NewSignal();
    private Task _writer = Task.CompletedTask;
    private Task _flusher = Task.CompletedTask;
    private volatile bool _closed;

    private SegmentLog(SegmentLogSettings settings, ByteBudget disk, ByteBudget memory, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _disk = disk;
        _memory = memory;
        _time = time;
        _logger = logger;
        _writeFailedLog = new LogThrottle(time);
        System.IO.Directory.CreateDirectory(settings.Directory);
        _cursor = LogCursor.Open(Path.Combine(settings.Directory, "cursor"));
    }

    /// <summary>Opens (or creates) the log in <see cref="SegmentLogSettings.Directory"/>, recovering what a crash left.</summary>
    public static SegmentLog Open(SegmentLogSettings settings, ByteBudget disk, ByteBudget memory, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var log = new SegmentLog(settings, disk, memory, time, logger);
        try
        {
            log.Recover();
        }
        catch
        {
            log._cursor.Dispose();
            throw;
        }

        log._writer = Task.Run(log.WriteLoopAsync);
        if (settings.Fsync == FsyncPolicy.Interval)
        {
            log._flusher = Task.Run(log.FlushLoopAsync);
        }

        return log;
    }

    /// <summary>What start-up found: records to replay, records that may be duplicates, damage salvaged.</summary>
    public LogRecoveryReport Recovery { get; private set; } = new(0, 0, 0, 0, 0);

    public string Directory => _settings.Directory;

    /// <summary>Bytes appended and not yet written, past which a non-durable append waits for its write.</summary>
    public long QueuedBytesLimit => Math.Max(2L * MaxGroupBytes, _memory.MaxBytes / 4);

    /// <summary>The lock the writer takes for each group: a test holds it to stand for a slow disk.</summary>
    internal SemaphoreSlim WriteLockForTests => _writeLock;

    /// <summary>Records appended and not yet committed.</summary>
    public long PendingRecords => Interlocked.Read(ref _pendingRecords);

    /// <summary>Records appended and not yet read.</summary>
    public long UnreadRecords => Interlocked.Read(ref _unreadRecords);

    /// <summary>Bytes of this log's segment files on disk.</summary>
    public long DiskBytes
    {
        get
        {
            lock (_gate)
            {
                return _segments.Sum(s => s.Length);
            }
        }
    }

    /// <summary>
    /// Appends one envelope with a caller's stamp (a deferral log keeps the time it is due). A durable append
    /// completes when the record is in the file; a non-durable one as soon as it is queued for the writer.
    /// </summary>
    public ValueTask<AppendResult> AppendAsync(Envelope envelope, long stamp = 0, bool durable = true)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (_closed)
        {
            return new ValueTask<AppendResult>(AppendResult.Closed);
        }

        if (_time.GetUtcNow().UtcTicks < Interlocked.Read(ref _refuseUntilTicks))
        {
            return new ValueTask<AppendResult>(AppendResult.DiskError);
        }

        var length = LogRecordFormat.RecordHeaderBytes + StampBytes + EnvelopeCodec.GetEncodedLength(envelope);
        if (!_disk.TryReserve(length, _disk.MaxBytes - _settings.ReserveBytes))
        {
            return new ValueTask<AppendResult>(AppendResult.Full);
        }

        // A non-durable append is answered before its write, but only while the bytes waiting for the writer
        // stay under QueuedBytesLimit: past it, the append waits for its write like a durable one, so a writer
        // slower than the ingress slows the ingress (backpressure) instead of growing a queue on the heap.
        durable |= Interlocked.Add(ref _queuedBytes, length) > QueuedBytesLimit;
        var item = new PendingAppend(envelope, stamp, length, durable);
        if (!_pending.Writer.TryWrite(item))
        {
            Interlocked.Add(ref _queuedBytes, -length);
            _disk.Release(length);
            return new ValueTask<AppendResult>(AppendResult.Closed);
        }

        return durable ? new ValueTask<AppendResult>(item.Completion!.Task) : new ValueTask<AppendResult>(AppendResult.Written);
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        _pending.Writer.TryComplete();
        await _writer;
        await _stopping.CancelAsync();
        await _flusher;
        await _writeLock.WaitAsync();
        try
        {
            if (_active is not null)
            {
                RandomAccess.FlushToDisk(_active);
                _active.Dispose();
                _active = null;
            }

            _cursor.Flush();
            _cursor.Dispose();
            CloseReadHandle();
        }
        finally
        {
            _writeLock.Release();
        }

        lock (_gate)
        {
            while (_cache.TryDequeue(out var chunk))
            {
                _memory.Release(chunk.Data.Length);
            }
        }

        _stopping.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<PendingAppend>(256);
        while (await _pending.Reader.WaitToReadAsync())
        {
            group.Clear();
            long bytes = 0;
            while (group.Count < MaxGroupRecords && bytes < MaxGroupBytes && _pending.Reader.TryRead(out var item))
            {
                group.Add(item);
                bytes += item.Length;
            }

            await _writeLock.WaitAsync();
            try
            {
                WriteGroup(group, bytes);
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }

    private void WriteGroup(List<PendingAppend> group, long bytes)
    {
        var chunks = Encode(group, bytes);
        AppendResult result;
        try
        {
            var start = WriteChunks(chunks, bytes, group.Count);
            CacheChunks(chunks, start);
            result = AppendResult.Written;
        }
        catch (IOException ex)
        {
            // ENOSPC or another I/O failure: nothing of the group counts as written. Refuse for a moment
            // instead of failing every append in a tight loop.
            _disk.Release(bytes);
            Interlocked.Exchange(ref _refuseUntilTicks, (_time.GetUtcNow() + DiskErrorBackoff).UtcTicks);
            _settings.OnWriteFailed?.Invoke(ex, group.Count(g => !g.Durable));
            if (_writeFailedLog.ShouldLog(out var failures))
            {
                Log.WriteFailed(_logger, _settings.Directory, failures, ex.Message);
            }

            result = AppendResult.DiskError;
        }

        Interlocked.Add(ref _queuedBytes, -bytes);
        foreach (var item in group)
        {
            item.Completion?.TrySetResult(result);
        }
    }

    /// <summary>Lays the group out in chunks of whole records, each at most <see cref="ChunkBytes"/> unless one record is larger.</summary>
    private static List<byte[]> Encode(List<PendingAppend> group, long bytes)
    {
        var chunks = new List<byte[]>((int)(bytes / ChunkBytes) + 1);
        var first = 0;
        while (first < group.Count)
        {
            var end = first;
            var size = 0;
            while (end < group.Count && (end == first || size + group[end].Length <= ChunkBytes))
            {
                size += group[end].Length;
                end++;
            }

            var chunk = new byte[size];
            var offset = 0;
            for (var i = first; i < end; i++)
            {
                var record = chunk.AsSpan(offset, group[i].Length);
                var payload = record[LogRecordFormat.RecordHeaderBytes..];
                BinaryPrimitives.WriteInt64LittleEndian(payload, group[i].Stamp);
                EnvelopeCodec.Encode(group[i].Envelope, payload[StampBytes..]);
                LogRecordFormat.WriteRecordHeader(record, payload.Length);
                offset += group[i].Length;
            }

            chunks.Add(chunk);
            first = end;
        }

        return chunks;
    }

    /// <summary>Writes whole records at the end of the active segment (rolling first when it is full); returns where they start.</summary>
    private LogPosition WriteChunks(List<byte[]> chunks, long bytes, int records)
    {
        Segment active;
        lock (_gate)
        {
            active = _segments.Count > 0 && _active is not null ? _segments[^1] : default!;
        }

        if (_active is null || (active.Length + bytes > _settings.SegmentBytes && active.Length > LogRecordFormat.SegmentHeaderBytes))
        {
            active = Roll();
        }

        var start = new LogPosition(active.Id, active.Length);
        try
        {
            RandomAccess.Write(_active!, chunks.Select(c => (ReadOnlyMemory<byte>)c).ToArray(), active.Length);
        }
        catch (IOException)
        {
            // Cut off whatever part of the group reached the file, so no half record stays behind.
            TryTruncate(_active!, active.Length);
            throw;
        }

        if (_settings.Fsync == FsyncPolicy.Always)
        {
            RandomAccess.FlushToDisk(_active!);
        }

        lock (_gate)
        {
            active.Length += bytes;
            active.Records += records;
            _writtenEnd = new LogPosition(active.Id, active.Length);
            _pendingRecords += records;
            _unreadRecords += records;
            _dirty = true;
        }

        Interlocked.Exchange(ref _dataSignal, NewSignal()).TrySetResult();
        return start;
    }

    /// <summary>Seals the active segment (if any) and starts the next one.</summary>
    private Segment Roll()
    {
        if (_active is not null)
        {
            RandomAccess.FlushToDisk(_active);
            _active.Dispose();
            _active = null;
        }

        var id = _nextSegmentId++;
        var path = SegmentPath(id);
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var header = new byte[LogRecordFormat.SegmentHeaderBytes];
            LogRecordFormat.WriteSegmentHeader(header);
            RandomAccess.Write(handle, header, 0);
        }
        catch (IOException)
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }

        _disk.Add(LogRecordFormat.SegmentHeaderBytes);
        var segment = new Segment(id, path) { Length = LogRecordFormat.SegmentHeaderBytes };
        lock (_gate)
        {
            _segments.Add(segment);
        }

        _active = handle;
        return segment;
    }

    private void CacheChunks(List<byte[]> chunks, LogPosition start)
    {
        var offset = start.Offset;
        lock (_gate)
        {
            foreach (var chunk in chunks)
            {
                // A chunk that does not fit is simply not cached: the reader finds it in the file.
                if (_memory.TryReserve(chunk.Length))
                {
                    _cache.Enqueue(new CachedChunk(new LogPosition(start.Segment, offset), chunk));
                }

                offset += chunk.Length;
            }
        }
    }

    private async Task FlushLoopAsync()
    {
        using var timer = new PeriodicTimer(_settings.FsyncInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                await FlushAsync(_stopping.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>fsync of the active segment and the cursor, if anything was written since the last one.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            bool dirty;
            lock (_gate)
            {
                dirty = _dirty;
                _dirty = false;
            }

            if (dirty && _active is not null)
            {
                RandomAccess.FlushToDisk(_active);
            }

            if (dirty)
            {
                _cursor.Flush();
            }
        }
        catch (IOException ex)
        {
            if (_writeFailedLog.ShouldLog(out var failures))
            {
                Log.WriteFailed(_logger, _settings.Directory, failures, ex.Message);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private string SegmentPath(long id) =>
        Path.Combine(_settings.Directory, id.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + SegmentExtension);

    private static void TryTruncate(SafeFileHandle handle, long length)
    {
        try
        {
            RandomAccess.SetLength(handle, length);
        }
        catch (IOException)
        {
            // Recovery at the next start cuts a torn tail by its CRC.
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class PendingAppend(Envelope envelope, long stamp, int length, bool durable)
    {
        public Envelope Envelope { get; } = envelope;

        public long Stamp { get; } = stamp;

        public int Length { get; } = length;

        public bool Durable { get; } = durable;

        public TaskCompletionSource<AppendResult>? Completion { get; } =
            durable ? new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously) : null;
    }

    private sealed class Segment(long id, string path)
    {
        public long Id { get; } = id;

        public string Path { get; } = path;

        /// <summary>Bytes in the file (header included); grows only under the write lock.</summary>
        public long Length { get; set; }

        /// <summary>Records written to it (those not yet committed, for a segment found at start-up).</summary>
        public long Records { get; set; }
    }

    private readonly record struct CachedChunk(LogPosition Start, byte[] Data);

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.LogWriteFailed, Level = LogLevel.Error, Message = "Writing to the log in {Directory} failed {Count} time(s) since the last report: {Error}; new data is refused (503) a second at a time")]
        public static partial void WriteFailed(ILogger logger, string directory, long count, string error);

        [LoggerMessage(EventId = LogEvents.LogRecovered, Level = LogLevel.Information, Message = "Log {Directory} opened: {Records} records to replay ({Bytes} bytes on disk), {Duplicates} possibly handed on before a crash")]
        public static partial void Recovered(ILogger logger, string directory, long records, long bytes, long duplicates);

        [LoggerMessage(EventId = LogEvents.LogDamaged, Level = LogLevel.Error, Message = "Log segment {Path} is damaged ({Detail}); moved aside to {Aside}, {Salvaged} records salvaged. Spool folder: --spool-path (CloudProxy:Spool:Path)")]
        public static partial void Damaged(ILogger logger, string path, string detail, string aside, int salvaged);

        [LoggerMessage(EventId = LogEvents.LogCursorLost, Level = LogLevel.Warning, Message = "Log {Directory} has segments but no readable cursor: replaying all of them, counted as possible duplicates")]
        public static partial void CursorLost(ILogger logger, string directory);

        [LoggerMessage(EventId = LogEvents.LogCorruptRecord, Level = LogLevel.Error, Message = "Skipped {Bytes} unreadable bytes in log segment {Path} at offset {Offset}")]
        public static partial void CorruptRecord(ILogger logger, string path, long offset, long bytes);
    }
}

/// <summary>When the log's files are flushed to the storage device (power-loss safety; a process crash loses nothing either way).</summary>
public enum FsyncPolicy
{
    /// <summary>Never explicitly: the kernel writes the page cache back (about 30 s on Linux).</summary>
    None = 0,

    /// <summary>Every <see cref="SegmentLogSettings.FsyncInterval"/>, in the background (default, like Vector's disk buffer).</summary>
    Interval = 1,

    /// <summary>Before any append completes (every group commit waits for the device).</summary>
    Always = 2,
}

/// <summary>How one <see cref="SegmentLog"/> is laid out and flushed.</summary>
/// <param name="Directory">Folder of its segment files and cursor.</param>
/// <param name="SegmentBytes">A segment is rolled once it would pass this size.</param>
/// <param name="ReserveBytes">Disk this log must leave free in the shared budget (room for deferrals).</param>
/// <param name="OnWriteFailed">Called when a group could not be written, with the number of non-durable appends lost.</param>
/// <param name="OnCorrupt">Called with the number of unreadable bytes skipped while reading.</param>
public sealed record SegmentLogSettings(
    string Directory,
    long SegmentBytes,
    FsyncPolicy Fsync,
    TimeSpan FsyncInterval,
    long ReserveBytes = 0,
    Action<IOException, int>? OnWriteFailed = null,
    Action<long>? OnCorrupt = null);

/// <summary>What a log found when it was opened.</summary>
/// <param name="Records">Records not yet committed (to replay).</param>
/// <param name="MaybeDelivered">Of those, records that were in flight when the process stopped: possible duplicates.</param>
/// <param name="TornBytes">Bytes of an unfinished record cut from a segment's end.</param>
/// <param name="DamagedSegments">Segments moved aside because of damage inside them.</param>
/// <param name="Salvaged">Records read back from damaged segments.</param>
public sealed record LogRecoveryReport(long Records, long MaybeDelivered, long TornBytes, int DamagedSegments, int Salvaged);

using System.Buffers.Binary;
using CloudProxy.Core.Envelopes;
using Microsoft.Win32.SafeHandles;

namespace CloudProxy.Core.Storage;

/// <summary>One record read from a <see cref="SegmentLog"/>.</summary>
/// <param name="Envelope">The envelope, or null when the bytes passed their CRC but do not decode (a newer format).</param>
/// <param name="Stamp">The stamp given at append.</param>
/// <param name="End">The position right after the record: commit it once the record is done.</param>
/// <param name="Raw">The encoded envelope (for quarantining what does not decode).</param>
public readonly record struct LogRecord(Envelope? Envelope, long Stamp, LogPosition End, ReadOnlyMemory<byte> Raw);

public sealed partial class SegmentLog
{
    private const int StampAndEnvelopeMinimum = 8;

    private LogPosition _readPosition;
    private LogPosition _committed;
    private SafeFileHandle? _readHandle;
    private long _readHandleSegment = -1;

    /// <summary>Everything before it is done (committed by the reader).</summary>
    public LogPosition Committed
    {
        get
        {
            lock (_gate)
            {
                return _committed;
            }
        }
    }

    /// <summary>True when records are waiting past the read position.</summary>
    public bool HasUnread
    {
        get
        {
            lock (_gate)
            {
                return Normalize(_readPosition) < _writtenEnd;
            }
        }
    }

    /// <summary>Completes when there is something to read (true), or when <paramref name="cancellationToken"/> fires.</summary>
    public async ValueTask WaitToReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _dataSignal).Task;
            if (HasUnread)
            {
                return;
            }

            await signal.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Takes up to <paramref name="maxRecords"/> records (and about <paramref name="maxBytes"/>) past the read position,
    /// from the cached head when it is there and from the files otherwise. Single reader.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1002:Do not expose generic lists", Justification = "the caller's list is reused batch after batch: no allocation per read")]
    public int Read(List<LogRecord> into, int maxRecords, long maxBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(into);
        var taken = 0;
        long bytes = 0;
        while (taken < maxRecords && bytes < maxBytes)
        {
            LogPosition position;
            long limit;
            byte[]? cached = null;
            long cachedStart = 0;
            lock (_gate)
            {
                position = Normalize(_readPosition);
                _readPosition = position;
                if (position >= _writtenEnd)
                {
                    break;
                }

                limit = SegmentLength(position.Segment);
                DropCachedBefore(position);
                if (_cache.TryPeek(out var head) && head.Start.Segment == position.Segment)
                {
                    if (head.Start.Offset <= position.Offset)
                    {
                        cached = head.Data;
                        cachedStart = head.Start.Offset;
                    }
                    else
                    {
                        // Read from the file only up to where the cached part starts.
                        limit = Math.Min(limit, head.Start.Offset);
                    }
                }
            }

            ReadOnlyMemory<byte> data = cached is not null
                ? cached.AsMemory((int)(position.Offset - cachedStart))
                : ReadFile(position, limit);
            var (records, consumed, size) = Parse(data, position, into, maxRecords - taken);
            taken += records;
            bytes += size;
            lock (_gate)
            {
                _readPosition = new LogPosition(position.Segment, position.Offset + consumed);
                _unreadRecords -= records;
            }
        }

        return taken;
    }

    /// <summary>Before handing records on: remembers that everything up to <paramref name="end"/> may be delivered after a crash.</summary>
    public void MarkInFlight(LogPosition end)
    {
        lock (_gate)
        {
            _cursor.Write(_committed, end);
        }
    }

    /// <summary>
    /// Everything before <paramref name="upTo"/> is done (<paramref name="records"/> of them since the last commit):
    /// the cursor moves and segments wholly before it are deleted.
    /// </summary>
    public void Commit(LogPosition upTo, long records)
    {
        List<Segment> gone = [];
        lock (_gate)
        {
            if (upTo <= _committed)
            {
                return;
            }

            _committed = upTo;
            _pendingRecords -= records;
            for (var i = 0; i < _segments.Count; i++)
            {
                var segment = _segments[i];
                var last = i == _segments.Count - 1;
                if (segment.Id < upTo.Segment || (segment.Id == upTo.Segment && upTo.Offset >= segment.Length && !last))
                {
                    gone.Add(segment);
                }
            }

            _segments.RemoveAll(gone.Contains);
            _cursor.Write(upTo, upTo > _cursor.InFlight ? upTo : _cursor.InFlight);
            _dirty = true;
        }

        Delete(gone);
        RollIfDrained(upTo);
    }

    /// <summary>
    /// Deletes the oldest segment without reading it (a log nobody consumes, such as the quarantine, kept within
    /// its own bound); returns how many records went with it. The active segment is never dropped.
    /// </summary>
    public long DropOldestSegment()
    {
        Segment oldest;
        lock (_gate)
        {
            if (_segments.Count < 2)
            {
                return 0;
            }

            oldest = _segments[0];
            _segments.RemoveAt(0);
            _committed = new LogPosition(_segments[0].Id, LogRecordFormat.SegmentHeaderBytes);
            _pendingRecords -= oldest.Records;
            _cursor.Write(_committed, _committed > _cursor.InFlight ? _committed : _cursor.InFlight);
        }

        Delete([oldest]);
        return oldest.Records;
    }

    /// <summary>
    /// After a drain the active segment would hold its consumed bytes until it filled up: when everything is
    /// committed and it is past a small size, it is deleted now and the next append starts a new one.
    /// </summary>
    private void RollIfDrained(LogPosition upTo)
    {
        if (!_writeLock.Wait(0))
        {
            return;
        }

        try
        {
            Segment? drained = null;
            lock (_gate)
            {
                if (_active is not null && _segments.Count > 0 && upTo >= _writtenEnd
                    && _segments[^1].Id == upTo.Segment && _segments[^1].Length >= Math.Min(1024 * 1024, _settings.SegmentBytes / 4))
                {
                    drained = _segments[^1];
                    _segments.RemoveAt(_segments.Count - 1);
                }
            }

            if (drained is not null)
            {
                _active!.Dispose();
                _active = null;
                Delete([drained]);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Delete(List<Segment> segments)
    {
        foreach (var segment in segments)
        {
            if (_readHandleSegment == segment.Id)
            {
                CloseReadHandle();
            }

            try
            {
                File.Delete(segment.Path);
            }
            catch (IOException ex)
            {
                Log.WriteFailed(_logger, _settings.Directory, 0, ex.Message);
            }

            _disk.Release(segment.Length);
        }
    }

    /// <summary>The first readable position at or after <paramref name="position"/>: past the end of a sealed segment is the next one's start.</summary>
    private LogPosition Normalize(LogPosition position)
    {
        foreach (var segment in _segments)
        {
            if (segment.Id < position.Segment)
            {
                continue;
            }

            if (segment.Id > position.Segment || position.Offset < LogRecordFormat.SegmentHeaderBytes)
            {
                position = new LogPosition(segment.Id, LogRecordFormat.SegmentHeaderBytes);
            }

            if (position.Offset < segment.Length)
            {
                return position;
            }
        }

        return position;
    }

    private long SegmentLength(long id)
    {
        foreach (var segment in _segments)
        {
            if (segment.Id == id)
            {
                return segment.Length;
            }
        }

        return 0;
    }

    private void DropCachedBefore(LogPosition position)
    {
        while (_cache.TryPeek(out var chunk)
            && (chunk.Start.Segment < position.Segment
                || (chunk.Start.Segment == position.Segment && chunk.Start.Offset + chunk.Data.Length <= position.Offset)))
        {
            _cache.Dequeue();
            _memory.Release(chunk.Data.Length);
        }
    }

    /// <summary>Reads from the file at <paramref name="position"/>: up to a chunk, or the whole of a larger first record.</summary>
    private byte[] ReadFile(LogPosition position, long limit)
    {
        var handle = ReadHandle(position.Segment);
        var want = (int)Math.Min(ChunkBytes, limit - position.Offset);
        var buffer = new byte[want];
        var read = ReadExactly(handle, buffer, position.Offset);
        if (LogRecordFormat.TryRead(buffer.AsSpan(0, read), out var length) == RecordStatus.Incomplete
            && read >= LogRecordFormat.RecordHeaderBytes
            && LogRecordFormat.RecordHeaderBytes + (long)length <= limit - position.Offset)
        {
            // One record larger than a chunk: read all of it.
            buffer = new byte[LogRecordFormat.RecordHeaderBytes + length];
            read = ReadExactly(handle, buffer, position.Offset);
        }

        return read == buffer.Length ? buffer : buffer[..read];
    }

    private SafeFileHandle ReadHandle(long segment)
    {
        if (_readHandle is null || _readHandleSegment != segment)
        {
            CloseReadHandle();
            _readHandle = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            _readHandleSegment = segment;
        }

        return _readHandle;
    }

    private void CloseReadHandle()
    {
        _readHandle?.Dispose();
        _readHandle = null;
        _readHandleSegment = -1;
    }

    private static int ReadExactly(SafeFileHandle handle, byte[] buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Parses whole records from <paramref name="data"/>; returns how many, the bytes consumed and their size.</summary>
    private (int Records, long Consumed, long Bytes) Parse(ReadOnlyMemory<byte> data, LogPosition start, List<LogRecord> into, int max)
    {
        var span = data.Span;
        var offset = 0;
        var records = 0;
        while (records < max && offset < span.Length)
        {
            var status = LogRecordFormat.TryRead(span[offset..], out var length);
            if (status == RecordStatus.Incomplete)
            {
                break;
            }

            if (status == RecordStatus.Corrupt)
            {
                var skipped = SkipDamage(span[offset..]);
                Log.CorruptRecord(_logger, SegmentPath(start.Segment), start.Offset + offset, skipped);
                _settings.OnCorrupt?.Invoke(skipped);
                offset += skipped;
                continue;
            }

            var payload = data.Slice(offset + LogRecordFormat.RecordHeaderBytes, length);
            offset += LogRecordFormat.RecordHeaderBytes + length;
            into.Add(ToRecord(payload, new LogPosition(start.Segment, start.Offset + offset)));
            records++;
        }

        return (records, offset, offset);
    }

    /// <summary>Bytes to skip from a damaged place to the next good record (or the end of what was read).</summary>
    private static int SkipDamage(ReadOnlySpan<byte> data)
    {
        for (var i = 1; i < data.Length; i++)
        {
            if (data[i] == (byte)(LogRecordFormat.RecordMagic & 0xFF) && LogRecordFormat.TryRead(data[i..], out _) == RecordStatus.Ok)
            {
                return i;
            }
        }

        return data.Length;
    }

    private static LogRecord ToRecord(ReadOnlyMemory<byte> payload, LogPosition end)
    {
        if (payload.Length < StampAndEnvelopeMinimum)
        {
            return new LogRecord(null, 0, end, payload);
        }

        var stamp = BinaryPrimitives.ReadInt64LittleEndian(payload.Span);
        var raw = payload[StampBytes..];
        try
        {
            return new LogRecord(EnvelopeCodec.Decode(raw), stamp, end, raw);
        }
        catch (EnvelopeFormatException)
        {
            return new LogRecord(null, stamp, end, raw);
        }
    }
}

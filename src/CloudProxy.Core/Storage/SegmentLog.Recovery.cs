using System.Globalization;

namespace CloudProxy.Core.Storage;

public sealed partial class SegmentLog
{
    /// <summary>
    /// Start-up: deletes segments the cursor says are done, checks every record of the others by its CRC, cuts
    /// a torn tail (a crash in the middle of a write), and moves a segment with damage inside it aside,
    /// appending the records it still holds as a new segment. Every recovered segment is sealed; the first
    /// append starts a new one.
    /// </summary>
    private void Recover()
    {
        var committed = _cursor.Committed;
        var inFlight = _cursor.InFlight;
        long pending = 0, maybeDelivered = 0, torn = 0;
        var damaged = 0;
        var salvage = new List<byte[]>();
        long maxId = -1;
        foreach (var (id, path) in SegmentFiles())
        {
            maxId = Math.Max(maxId, id);
            if (id < committed.Segment)
            {
                File.Delete(path);
                continue;
            }

            var data = File.ReadAllBytes(path);
            if (data.Length <= LogRecordFormat.SegmentHeaderBytes)
            {
                // Created, and the process stopped before a record was written: nothing to keep.
                File.Delete(path);
                continue;
            }

            var from = id == committed.Segment ? Math.Max(committed.Offset, LogRecordFormat.SegmentHeaderBytes) : LogRecordFormat.SegmentHeaderBytes;
            var scan = Scan(data, id, from, inFlight);
            if (scan.Damage is null)
            {
                if (scan.End < data.Length)
                {
                    // A record cut short by a crash: nothing after it was ever acknowledged as written.
                    using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
                    {
                        RandomAccess.SetLength(handle, scan.End);
                    }

                    torn += data.Length - scan.End;
                }

                pending += scan.Pending.Count;
                maybeDelivered += scan.MaybeDelivered;
                _segments.Add(new Segment(id, path) { Length = scan.End, Records = scan.Pending.Count });
                continue;
            }

            var aside = path + ".corrupt-" + _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            File.Move(path, aside);
            damaged++;
            salvage.AddRange(scan.Pending);
            maybeDelivered += scan.MaybeDelivered;
            Log.Damaged(_logger, path, scan.Damage, aside, scan.Pending.Count);
        }

        _nextSegmentId = maxId + 1;
        if (_cursor.WasEmpty && (_segments.Count > 0 || salvage.Count > 0))
        {
            // Segments but no cursor to trust (deleted, or both slots damaged): everything found may have been
            // handed on before. A new log writes its cursor at once, so this is never a first start.
            maybeDelivered = pending + salvage.Count;
            Log.CursorLost(_logger, _settings.Directory);
        }

        if (_cursor.WasEmpty)
        {
            _cursor.Write(committed, committed);
        }

        var diskBytes = _segments.Sum(s => s.Length);
        _disk.Add(diskBytes);
        _pendingRecords = pending;
        _unreadRecords = pending;
        _committed = committed;
        _readPosition = committed;
        _writtenEnd = _segments.Count > 0 ? new LogPosition(_segments[^1].Id, _segments[^1].Length) : committed;
        if (salvage.Count > 0)
        {
            // WriteChunks counts them into _pendingRecords.
            WriteSalvaged(salvage);
            pending += salvage.Count;
        }

        _readPosition = Normalize(_readPosition);
        Recovery = new LogRecoveryReport(pending, maybeDelivered, torn, damaged, salvage.Count);
        if (pending > 0 || damaged > 0 || torn > 0)
        {
            Log.Recovered(_logger, _settings.Directory, pending, diskBytes, maybeDelivered);
        }
    }

    private List<(long Id, string Path)> SegmentFiles()
    {
        var found = new List<(long Id, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(_settings.Directory, "*" + SegmentExtension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                found.Add((id, path));
            }
        }

        found.Sort((a, b) => a.Id.CompareTo(b.Id));
        return found;
    }

    /// <summary>
    /// Checks the records of one segment file. Records from <paramref name="from"/> on are pending; those ending
    /// at or before <paramref name="inFlight"/> may already have been delivered. Damage (a bad header, or a bad
    /// record followed by more data) is reported with every pending record that can still be read, found by
    /// the record magic and CRC.
    /// </summary>
    private static SegmentScan Scan(byte[] data, long id, long from, LogPosition inFlight)
    {
        var pending = new List<byte[]>();
        long maybe = 0;
        var headerOk = LogRecordFormat.IsSegmentHeader(data);
        var offset = headerOk ? LogRecordFormat.SegmentHeaderBytes : 0L;
        var damage = headerOk ? null : "bad segment header";

        while (offset < data.Length)
        {
            var span = data.AsSpan((int)offset);
            if (LogRecordFormat.TryRead(span, out var length) == RecordStatus.Ok)
            {
                var end = offset + LogRecordFormat.RecordHeaderBytes + length;
                if (offset >= from)
                {
                    pending.Add(span.Slice(LogRecordFormat.RecordHeaderBytes, length).ToArray());
                    if (new LogPosition(id, end) <= inFlight)
                    {
                        maybe++;
                    }
                }

                offset = end;
                continue;
            }

            // Not a good record. With no good record after it, and a sound header, it is the torn tail of a
            // write a crash cut short; with one after it (a flipped bit, a page lost in a power cut), damage.
            var next = SkipDamage(span);
            if (offset + next >= data.Length)
            {
                if (damage is null)
                {
                    return new SegmentScan(offset, pending, maybe, null);
                }

                break;
            }

            damage ??= $"unreadable bytes at offset {offset}";
            offset += next;
        }

        return new SegmentScan(damage is null ? offset : data.Length, pending, maybe, damage);
    }

    private void WriteSalvaged(List<byte[]> payloads)
    {
        long bytes = 0;
        var chunk = new byte[payloads.Sum(p => LogRecordFormat.RecordHeaderBytes + p.Length)];
        foreach (var payload in payloads)
        {
            payload.CopyTo(chunk.AsSpan((int)bytes + LogRecordFormat.RecordHeaderBytes));
            LogRecordFormat.WriteRecordHeader(chunk.AsSpan((int)bytes), payload.Length);
            bytes += LogRecordFormat.RecordHeaderBytes + payload.Length;
        }

        _disk.Add(bytes);
        try
        {
            WriteChunks([chunk], bytes, payloads.Count);
        }
        catch (IOException ex)
        {
            // The disk is full even for what was already on it: count what could not be kept, and start.
            _disk.Release(bytes);
            _settings.OnWriteFailed?.Invoke(ex, payloads.Count);
            Log.WriteFailed(_logger, _settings.Directory, payloads.Count, ex.Message);
        }
    }

    private sealed record SegmentScan(long End, List<byte[]> Pending, long MaybeDelivered, string? Damage);
}

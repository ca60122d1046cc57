using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudProxy.Core.Tests.Storage;

public sealed class SegmentLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cloudproxy-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Appended_envelopes_are_read_back_in_order_from_memory_and_after_a_restart_from_the_files()
    {
        await using (var log = Open())
        {
            await AppendAsync(log, 0, 500);
            Assert.Equal(Texts(0, 500), ReadAll(log));
        }

        // Nothing was committed: all of it is there again, read from the files this time.
        await using var again = Open(cacheBytes: 0);
        Assert.Equal(500, again.Recovery.Records);
        Assert.Equal(Texts(0, 500), ReadAll(again));
    }

    [Fact]
    public async Task Committed_records_are_not_read_again_and_their_segments_are_deleted()
    {
        await using (var log = Open(segmentBytes: 16 * 1024))
        {
            await AppendAsync(log, 0, 2000);
            var before = SegmentCount();
            Assert.True(before >= 8, $"expected several segments, found {before}");
            var records = new List<LogRecord>();
            log.Read(records, 1500);
            log.Commit(records[^1].End, records.Count);

            // A quarter of the records are left: about a quarter of the segments, plus the one the cursor is in.
            Assert.True(SegmentCount() <= (before / 4) + 2, $"consumed segments were kept: {SegmentCount()} of {before}");
        }

        await using var again = Open(segmentBytes: 16 * 1024);
        Assert.Equal(500, again.Recovery.Records);
        Assert.Equal(Texts(1500, 500), ReadAll(again));
    }

    [Fact]
    public async Task A_drained_log_gives_its_disk_back()
    {
        var disk = new ByteBudget(64L * 1024 * 1024);
        await using var log = Open(segmentBytes: 1024 * 1024, disk: disk);
        await AppendAsync(log, 0, 30_000);
        Assert.True(disk.Used > 1024 * 1024, $"{disk.Used} bytes used after 30,000 appends");
        var records = new List<LogRecord>();
        while (log.Read(records, 4096) > 0)
        {
        }

        log.Commit(records[^1].End, records.Count);

        // At most the last, small segment stays (a drain deletes the active segment once it is past a quarter of its size).
        Assert.InRange(SegmentBytesOnDisk(), 0, 256 * 1024);
        Assert.Equal(disk.Used, SegmentBytesOnDisk());
        Assert.Equal(0, log.PendingRecords);

        // And it keeps working afterwards.
        await AppendAsync(log, 30_000, 3);
        Assert.Equal(Texts(30_000, 3), ReadAll(log));
    }

    [Fact]
    public async Task The_disk_bound_counts_the_files_and_refuses_past_it()
    {
        var disk = new ByteBudget(200_000);
        await using var log = Open(segmentBytes: 32 * 1024, disk: disk);
        var written = 0;
        AppendResult result;
        while ((result = await log.AppendAsync(Make($"m{written}", 300))) == AppendResult.Written)
        {
            written++;
        }

        Assert.Equal(AppendResult.Full, result);
        Assert.InRange(SegmentBytesOnDisk(), 180_000, 200_000);
        Assert.Equal(disk.Used, SegmentBytesOnDisk());
        Assert.Equal(written, ReadAll(log).Count);
    }

    [Fact]
    public async Task A_record_torn_by_a_crash_is_cut_off_and_the_rest_survives()
    {
        await using (var log = Open())
        {
            await AppendAsync(log, 0, 100);
        }

        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        var whole = new FileInfo(segment).Length;

        // What a kill in the middle of a write leaves: the first part of a record.
        var partial = new byte[40];
        Array.Fill(partial, (byte)0xAB);
        partial[0] = 0xD0;
        partial[1] = 0xC1;
        partial[4] = 200;
        await using (var stream = new FileStream(segment, FileMode.Append))
        {
            stream.Write(partial);
        }

        await using var again = Open();
        Assert.Equal(40, again.Recovery.TornBytes);
        Assert.Equal(0, again.Recovery.DamagedSegments);
        Assert.Equal(whole, new FileInfo(segment).Length);
        Assert.Equal(Texts(0, 100), ReadAll(again));
    }

    [Fact]
    public async Task A_damaged_segment_is_moved_aside_and_every_other_record_is_salvaged()
    {
        await using (var log = Open())
        {
            await AppendAsync(log, 0, 100);
        }

        var segment = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var middle = IndexOf(bytes, "m50|"u8);
        bytes[middle + 1] ^= 0xFF;
        await File.WriteAllBytesAsync(segment, bytes);

        await using var again = Open();
        Assert.Equal(1, again.Recovery.DamagedSegments);
        Assert.Equal(99, again.Recovery.Salvaged);
        Assert.Single(Directory.GetFiles(_dir, "*.corrupt-*"));
        Assert.Equal(Texts(0, 100).Where(t => t != "m50"), ReadAll(again));
    }

    [Fact]
    public async Task Records_in_flight_when_the_process_died_are_reported_as_possible_duplicates()
    {
        await using (var log = Open())
        {
            await AppendAsync(log, 0, 10);
            var records = new List<LogRecord>();
            log.Read(records, 4);
            log.Commit(records[^1].End, records.Count);
            records.Clear();
            log.Read(records, 3);
            log.MarkInFlight(records[^1].End);
        }

        await using var again = Open();
        Assert.Equal(6, again.Recovery.Records);
        Assert.Equal(3, again.Recovery.MaybeDelivered);
        Assert.Equal(Texts(4, 6), ReadAll(again));
    }

    [Fact]
    public async Task Concurrent_appends_share_writes_and_each_is_read_exactly_once()
    {
        await using var log = Open(segmentBytes: 256 * 1024, cacheBytes: 64 * 1024);
        var tasks = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 2000; i++)
            {
                Assert.Equal(AppendResult.Written, await log.AppendAsync(Make($"w{w}-{i}", 50)));
            }
        })).ToArray();
        var seen = new List<string>();
        var records = new List<LogRecord>();
        var deadline = Environment.TickCount64 + 60_000;
        while (seen.Count < 16_000 && Environment.TickCount64 < deadline)
        {
            records.Clear();
            if (log.Read(records, 1000) == 0)
            {
                await Task.Delay(5);
                continue;
            }

            seen.AddRange(records.Select(r => Text(r.Envelope!)));
            log.Commit(records[^1].End, records.Count);
        }

        await Task.WhenAll(tasks);
        Assert.Equal(16_000, seen.Count);
        Assert.Equal(16_000, seen.Distinct().Count());
        for (var w = 0; w < 8; w++)
        {
            // Each writer's own appends stay in its order.
            var mine = seen.Where(s => s.StartsWith($"w{w}-", StringComparison.Ordinal)).Select(s => int.Parse(s[(s.IndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, 2000), mine);
        }
    }

    [Fact]
    public async Task A_record_larger_than_a_read_chunk_is_read_whole_from_the_file()
    {
        await using (var log = Open())
        {
            Assert.Equal(AppendResult.Written, await log.AppendAsync(Make("big", 300_000)));
            Assert.Equal(AppendResult.Written, await log.AppendAsync(Make("small", 10)));
        }

        await using var again = Open(cacheBytes: 0);
        var records = new List<LogRecord>();
        again.Read(records, 10);
        Assert.True(records.Count == 2, $"{records.Count} {again.Recovery} {string.Join(",", records.Select(r => r.End))} {string.Join(";", Directory.GetFiles(_dir).Select(f => Path.GetFileName(f) + "=" + new FileInfo(f).Length))}");
        Assert.Equal(300_000 + "big|".Length, records[0].Envelope!.Payload.Length);
        Assert.StartsWith("small", Text(records[1].Envelope!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_durable_appends_are_answered_before_the_write_only_up_to_the_queued_bound()
    {
        await using var log = Open(cacheBytes: 16 * 1024 * 1024);
        const int record = 100_000;
        var limit = log.QueuedBytesLimit;
        var answered = 0;
        var waiting = new List<Task<AppendResult>>();

        // The writer stands still (a slow disk): appends answered at once stop at the bound, the rest wait.
        await log.WriteLockForTests.WaitAsync();
        try
        {
            for (var i = 0; i < 2 * limit / record; i++)
            {
                var append = log.AppendAsync(Make($"m{i}", record), durable: false);
                if (append.IsCompleted)
                {
                    Assert.Equal(AppendResult.Written, await append);
                    answered++;
                }
                else
                {
                    waiting.Add(append.AsTask());
                }
            }

            Assert.InRange((long)answered * record, limit - (2L * record), limit);
            Assert.NotEmpty(waiting);
            Assert.DoesNotContain(waiting, t => t.IsCompleted);
        }
        finally
        {
            log.WriteLockForTests.Release();
        }

        // Once the disk moves again every waiting append is written, and nothing was dropped.
        Assert.All(await Task.WhenAll(waiting), r => Assert.Equal(AppendResult.Written, r));
        Assert.Equal(answered + waiting.Count, ReadAll(log).Count);
    }

    [Fact]
    public async Task A_stamp_travels_with_its_record()
    {
        await using var log = Open();
        await log.AppendAsync(Make("a"), stamp: 1234567);
        var records = new List<LogRecord>();
        log.Read(records, 1);
        Assert.Equal(1234567, records[0].Stamp);
    }

    private SegmentLog Open(long segmentBytes = 4 * 1024 * 1024, long cacheBytes = 16 * 1024 * 1024, ByteBudget? disk = null) =>
        SegmentLog.Open(
            new SegmentLogSettings(_dir, segmentBytes, FsyncPolicy.None, TimeSpan.FromSeconds(1)),
            disk ?? new ByteBudget(1L << 30),
            new ByteBudget(cacheBytes),
            TimeProvider.System,
            NullLogger.Instance);

    private static async Task AppendAsync(SegmentLog log, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            Assert.Equal(AppendResult.Written, await log.AppendAsync(Make($"m{i}")));
        }
    }

    private static List<string> ReadAll(SegmentLog log)
    {
        var records = new List<LogRecord>();
        while (log.Read(records, 1000) > 0)
        {
        }

        return [.. records.Select(r => Text(r.Envelope!))];
    }

    private static IEnumerable<string> Texts(int from, int count) => Enumerable.Range(from, count).Select(i => $"m{i}");

    private static Envelope Make(string text, int padding = 20) => new()
    {
        Topic = "t",
        Kind = "test",
        Payload = Encoding.UTF8.GetBytes(text + "|" + new string('x', padding)),
    };

    private static string Text(Envelope envelope)
    {
        var text = Encoding.UTF8.GetString(envelope.Payload.Span);
        return text[..text.IndexOf('|', StringComparison.Ordinal)];
    }

    private int SegmentCount() => Directory.GetFiles(_dir, "*.seg").Length;

    private long SegmentBytesOnDisk() => Directory.GetFiles(_dir, "*.seg").Sum(f => new FileInfo(f).Length);

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}

using CloudProxy.Core.Metrics;
using CloudProxy.Core.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace CloudProxy.Core.Tests.Spool;

public class SqliteSpoolTests
{
    private static SqliteSpool Open(string path, long maxBytes) => new(
        Microsoft.Extensions.Options.Options.Create(new SpoolOptions { Path = path, MaxBytes = maxBytes }),
        new CoreMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
        NullLogger<SqliteSpool>.Instance);

    private static string TempPath() => Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-spool-").FullName, "s.db");

    [Fact]
    public void Envelopes_come_back_oldest_first_with_their_bytes_and_are_gone_after_delete()
    {
        using var spool = Open(TempPath(), 1_000_000);
        Assert.True(spool.TryAppend([PipelineHarness.Make("a"), PipelineHarness.Make("b")]));
        Assert.True(spool.TryAppend([PipelineHarness.Make("c")]));

        var read = spool.ReadOldest(2, out var corrupt);
        Assert.Equal(0, corrupt);
        Assert.Equal(["a", "b"], read.Select(r => System.Text.Encoding.UTF8.GetString(r.Envelope.Payload.Span)));
        spool.Delete(read.Select(r => r.Id));
        Assert.Equal(1, spool.Count);
        Assert.Equal("c", System.Text.Encoding.UTF8.GetString(spool.ReadOldest(10, out _).Single().Envelope.Payload.Span));
    }

    [Fact]
    public void A_batch_that_would_pass_the_byte_limit_is_refused_whole()
    {
        using var spool = Open(TempPath(), 300);
        Assert.True(spool.TryAppend([PipelineHarness.Make(new string('a', 100))]));
        Assert.False(spool.TryAppend([PipelineHarness.Make(new string('b', 100)), PipelineHarness.Make(new string('c', 100))]));
        Assert.Equal(1, spool.Count);
    }

    [Fact]
    public void Count_and_bytes_are_recovered_when_the_file_is_reopened()
    {
        var path = TempPath();
        long bytes;
        using (var spool = Open(path, 1_000_000))
        {
            spool.TryAppend([PipelineHarness.Make("one"), PipelineHarness.Make("two")]);
            bytes = spool.Bytes;
        }

        using var reopened = Open(path, 1_000_000);
        Assert.Equal(2, reopened.Count);
        Assert.Equal(bytes, reopened.Bytes);
    }
}

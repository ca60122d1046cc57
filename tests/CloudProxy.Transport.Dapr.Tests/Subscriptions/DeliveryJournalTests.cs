using CloudProxy.Core.Metrics;
using CloudProxy.Transport.Dapr.Subscriptions;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests.Subscriptions;

/// <summary>
/// The journal is what lets a forwarder killed between handling a daprd delivery and answering it count the
/// copies daprd then delivers again (KillTests' Dapr case checks the count against the copies that arrive).
/// Each mark is written straight to the file, so disposing without End stands for the kill.
/// </summary>
public sealed class DeliveryJournalTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloudproxy-journal-").FullName;

    private string JournalPath => Path.Combine(_directory, "dapr-deliveries.journal");

    [Fact]
    public async Task Deliveries_left_open_by_a_dead_process_are_counted_as_redeliveries_by_the_next()
    {
        using (var first = Open(new CollectorRegistry()))
        {
            first.End(first.Begin("statsd", 10));
            first.Begin("statsd", 7);
            first.Begin("sentry", 3);
            first.End(first.Begin("sentry", 100));
        }

        var registry = new CollectorRegistry();
        using (Open(registry))
        {
            Assert.Equal(7, await Duplicates(registry, "statsd"));
            Assert.Equal(3, await Duplicates(registry, "sentry"));
        }

        // Counted once: the second process's journal starts empty.
        var third = new CollectorRegistry();
        using (Open(third))
        {
            Assert.Equal(0, await Duplicates(third, "statsd"));
        }
    }

    [Fact]
    public void A_mark_cut_by_the_kill_is_not_a_delivery()
    {
        var open = DeliveryJournal.OpenDeliveries(["+1 5 statsd", "+2 4 stat", "-1", "+3 9", "+4", "-"]);
        Assert.Equal(new Dictionary<string, long> { ["stat"] = 4 }, open);
    }

    [Fact]
    public async Task Compaction_keeps_the_open_deliveries_and_bounds_the_file()
    {
        using (var journal = Open(new CollectorRegistry()))
        {
            journal.Begin("graphite", 42);
            for (var i = 0; i < 100_000; i++)
            {
                journal.End(journal.Begin("graphite", 1));
            }

            Assert.True(new FileInfo(JournalPath).Length < DeliveryJournal.CompactBytes + 100, "the journal was never compacted");
        }

        var registry = new CollectorRegistry();
        using (Open(registry))
        {
            Assert.Equal(42, await Duplicates(registry, "graphite"));
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private DeliveryJournal Open(CollectorRegistry registry) =>
        new(JournalPath, new CoreMetrics(Metrics.WithCustomRegistry(registry)), NullLogger<DeliveryJournal>.Instance);

    private static Task<double> Duplicates(CollectorRegistry registry, string topic) =>
        MetricValues.ReadAsync(registry, CoreMetricNames.Duplicates, $"topic={topic}", "reason=redelivery");
}

using CloudProxy.Core.Delivery;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace CloudProxy.Tests.Common;

/// <summary>Core's real durable stores on a temporary folder, for tests that build a component by hand.</summary>
public sealed class CoreStores : IAsyncDisposable
{
    private CoreStores(string folder, LogStore store, Quarantine quarantine, CoreMetrics metrics)
    {
        Folder = folder;
        Store = store;
        Quarantine = quarantine;
        Metrics = metrics;
    }

    public CoreMetrics Metrics { get; }

    public string Folder { get; }

    public LogStore Store { get; }

    public Quarantine Quarantine { get; }

    public static CoreStores Create(CollectorRegistry? registry = null)
    {
        registry ??= Prometheus.Metrics.NewCustomRegistry();
        var metrics = new CoreMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var folder = Directory.CreateTempSubdirectory("cloudproxy-stores-").FullName;
        var spool = Microsoft.Extensions.Options.Options.Create(new SpoolOptions { Path = folder });
        var store = new LogStore(spool, Microsoft.Extensions.Options.Options.Create(new OutboxOptions()), metrics, registry, TimeProvider.System, NullLogger<SegmentLog>.Instance);
        return new CoreStores(folder, store, new Quarantine(store, spool, metrics, TimeProvider.System, NullLogger<Quarantine>.Instance), metrics);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}

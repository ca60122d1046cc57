using CloudProxy.Core.Delivery;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Publishing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>The sidecar double as these tests use it: daprd's defaults, the test pub/sub name, a real Redis.</summary>
internal static class TestSidecar
{
    public const string AppId = "statsd-ingress";

    public static Task<DaprSidecarDouble> StartAsync(RedisServer redis, Func<DaprSidecarOptions, DaprSidecarOptions>? configure = null, string appId = AppId)
    {
        var options = new DaprSidecarOptions { Redis = redis, AppId = appId, PubSubName = TestEnvelopes.PubSub };
        return DaprSidecarDouble.StartAsync(configure is null ? options : configure(options));
    }

    /// <summary>The real publisher on its own channel to <paramref name="sidecar"/>, with Core's quarantine on a folder of its own.</summary>
    public static TestPublisher Publisher(DaprSidecarDouble sidecar, CollectorRegistry? registry = null)
    {
        var channel = new DaprSidecarChannel(sidecar.Endpoint.ToString(), null, TimeSpan.FromSeconds(5));
        var stores = CoreStores.Create(registry);
        var publisher = new DaprEnvelopePublisher(
            channel,
            Options.Create(new TransportOptions { Kind = TransportKind.Dapr, PubSubName = TestEnvelopes.PubSub }),
            Options.Create(new DaprTransportOptions()),
            new DaprMetrics(Metrics.WithCustomRegistry(registry ?? Metrics.NewCustomRegistry())),
            stores.Metrics,
            stores.Quarantine,
            TimeProvider.System,
            NullLogger<DaprEnvelopePublisher>.Instance);
        return new TestPublisher(publisher, channel, stores);
    }
}

/// <summary>A publisher and what it holds, disposed together.</summary>
internal sealed class TestPublisher(DaprEnvelopePublisher publisher, DaprSidecarChannel channel, CoreStores stores) : IAsyncDisposable
{
    public DaprEnvelopePublisher Publisher { get; } = publisher;

    public Quarantine Quarantine => stores.Quarantine;

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        await stores.DisposeAsync();
    }
}

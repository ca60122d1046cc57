using CloudProxy.Core.Transport;
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

    /// <summary>The real publisher on its own channel to <paramref name="sidecar"/>; dispose the channel with the test.</summary>
    public static (DaprEnvelopePublisher Publisher, DaprSidecarChannel Channel) Publisher(DaprSidecarDouble sidecar, CollectorRegistry? registry = null)
    {
        var channel = new DaprSidecarChannel(sidecar.Endpoint.ToString(), null, TimeSpan.FromSeconds(5));
        var publisher = new DaprEnvelopePublisher(
            channel,
            Options.Create(new TransportOptions { Kind = TransportKind.Dapr, PubSubName = TestEnvelopes.PubSub }),
            Options.Create(new DaprTransportOptions()),
            new DaprMetrics(Metrics.WithCustomRegistry(registry ?? Metrics.NewCustomRegistry())),
            TimeProvider.System,
            NullLogger<DaprEnvelopePublisher>.Instance);
        return (publisher, channel);
    }
}

using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.State;
using CloudProxy.Core.Transport;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.Publishing;
using CloudProxy.Transport.Dapr.State;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests;

[Collection(RedisGroup.Name)]
public sealed class DaprTransportExtensionsTests(RedisFixture fixture)
{
    [Fact]
    public void Embedded_transport_registers_nothing_and_keeps_the_embedded_publisher_and_state_store()
    {
        var services = CoreLikeServices(new Dictionary<string, string?> { ["CloudProxy:Transport:Kind"] = "Embedded" }, out var configuration);
        var before = services.Count;

        new CloudProxyBuilder(services, configuration, ServiceRoles.FromNames(ServiceRoles.StatsDIngress)).AddDaprTransport();

        Assert.Equal(before, services.Count);
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(DaprClient));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<EmbeddedPublisher>(provider.GetRequiredService<IEnvelopePublisher>());
        Assert.IsType<EmbeddedStateStore>(provider.GetRequiredService<IStateStore>());
    }

    [Fact]
    public async Task Dapr_transport_publishes_and_keeps_state_through_the_sidecar_the_dapr_environment_names()
    {
        await using var sidecar = await TestSidecar.StartAsync(fixture.Redis, appId: "cloudproxy-test");
        var services = CoreLikeServices(
            new Dictionary<string, string?>
            {
                ["CloudProxy:Transport:Kind"] = "dapr",
                ["CloudProxy:Transport:PubSubName"] = TestEnvelopes.PubSub,
                ["DAPR_GRPC_ENDPOINT"] = sidecar.Endpoint.ToString(),
                ["DAPR_HTTP_ENDPOINT"] = sidecar.Endpoint.ToString(),
                ["DAPR_API_TOKEN"] = "token-from-env",
            },
            out var configuration);

        new CloudProxyBuilder(services, configuration, ServiceRoles.FromNames(ServiceRoles.StatsDIngress)).AddDaprTransport();
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var publisher = Assert.IsType<DaprEnvelopePublisher>(provider.GetRequiredService<IEnvelopePublisher>());
        var envelope = TestEnvelopes.Create();
        Assert.Empty(await publisher.PublishAsync(TestEnvelopes.Topic, [envelope], CancellationToken.None));
        var bulk = Assert.Single(sidecar.BulkPublishes);
        TestEnvelopes.AssertIntact(envelope, EnvelopeCodec.Decode(Assert.Single(bulk.Entries).Event));
        Assert.Equal("token-from-env", Assert.Single(bulk.Headers, h => h.Key == "dapr-api-token").Value);

        var state = Assert.IsType<DaprStateStore>(provider.GetRequiredService<IStateStore>());
        var key = "ext-" + Guid.NewGuid().ToString("N");
        await state.SetAsync(key, new byte[] { 1, 2, 3 }, null, CancellationToken.None);
        Assert.Equal([1, 2, 3], (byte[])(await fixture.Redis.Database.HashGetAsync(sidecar.RedisKey(key), "data"))!);
    }

    [Fact]
    public void Invalid_dapr_setting_stops_start_up_naming_the_setting()
    {
        var services = CoreLikeServices(
            new Dictionary<string, string?>
            {
                ["CloudProxy:Transport:Kind"] = "Dapr",
                ["CloudProxy:Transport:StateStoreName"] = " ",
                ["CloudProxy:Transport:BulkPublishMaxBytes"] = "10",
            },
            out var configuration);

        new CloudProxyBuilder(services, configuration, ServiceRoles.FromNames(ServiceRoles.StatsDIngress)).AddDaprTransport();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("CloudProxy:Transport:StateStoreName", error.Message, StringComparison.Ordinal);
        Assert.Contains("CloudProxy:Transport:BulkPublishMaxBytes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>What the host has registered before the transport runs: configuration, metrics, the embedded seams.</summary>
    private static ServiceCollection CoreLikeServices(Dictionary<string, string?> settings, out IConfiguration configuration)
    {
        configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(configuration);
        services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        services.AddSingleton<IEnvelopePublisher, EmbeddedPublisher>();
        services.AddSingleton<IStateStore, EmbeddedStateStore>();

        // Core's quarantine, on a folder of its own that the provider deletes when it is disposed.
        services.AddSingleton(_ => CoreStores.Create());
        services.AddSingleton(sp => sp.GetRequiredService<CoreStores>().Quarantine);
        services.AddSingleton(sp => sp.GetRequiredService<CoreStores>().Metrics);
        return services;
    }

    private sealed class EmbeddedPublisher : IEnvelopePublisher
    {
        public Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken) =>
            throw new NotSupportedException("stands in for Core's embedded publisher; never called");
    }

    private sealed class EmbeddedStateStore : IStateStore
    {
        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}

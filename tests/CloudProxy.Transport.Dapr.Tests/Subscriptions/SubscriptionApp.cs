using System.Net;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Status;
using CloudProxy.Core.Transport;
using CloudProxy.Transport.Dapr.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests.Subscriptions;

/// <summary>
/// A real Kestrel app on 127.0.0.1:0 wired the way the host wires it (AddDaprTransport, MapDaprSubscriptions)
/// with <see cref="SinkHandler"/>s as the forwarders; <see cref="Client"/> plays daprd.
/// </summary>
internal sealed class SubscriptionApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly string _spool;

    private SubscriptionApp(WebApplication app, CollectorRegistry registry, Uri baseAddress, string spool)
    {
        _app = app;
        _spool = spool;
        Registry = registry;
        Client = new HttpClient(new SocketsHttpHandler(), disposeHandler: true) { BaseAddress = baseAddress };
    }

    public HttpClient Client { get; }

    public CollectorRegistry Registry { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<SubscriptionApp> StartAsync(IEnumerable<IEnvelopeHandler> handlers, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var spool = Directory.CreateTempSubdirectory("cloudproxy-dapr-sub-").FullName;
        var configuration = new Dictionary<string, string?>
        {
            ["CloudProxy:Spool:Path"] = spool,
            ["CloudProxy:Deferral:RetryDelaysSeconds"] = "0.2,0.5",
            ["CloudProxy:Transport:Kind"] = "Dapr",
            ["CloudProxy:Transport:PubSubName"] = TestEnvelopes.PubSub,
            ["CloudProxy:Transport:BulkSubscribeMaxMessages"] = "50",
            ["CloudProxy:Transport:BulkSubscribeMaxAwaitMs"] = "40",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        foreach (var handler in handlers)
        {
            builder.Services.AddSingleton(handler);
        }

        // Core as the host has it: deliveries go through its gate, which defers to its durable logs.
        builder.Services
            .AddCloudProxyCore(builder.Configuration, ServiceRoles.FromNames(ServiceRoles.StatsDForwarder), new BuildInfo("test", "test", "test"))
            .AddDaprTransport();
        var app = builder.Build();
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        try
        {
            app.MapDaprSubscriptions();
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SubscriptionApp(app, registry, new Uri(address), spool);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_spool, recursive: true);
    }
}

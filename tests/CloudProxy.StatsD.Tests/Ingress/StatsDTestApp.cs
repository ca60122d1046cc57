using CloudProxy.Core.Hosting;
using CloudProxy.Core.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudProxy.StatsD.Tests.Ingress;

/// <summary>
/// Core's real pipeline plus the StatsD module in a WebApplication on 127.0.0.1:0, where a test may put its
/// own services (a sampler, an outbox) in first: AddStatsD and Core use TryAdd, so the test's win.
/// </summary>
internal sealed class StatsDTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private StatsDTestApp(WebApplication app, string directory)
    {
        _app = app;
        _directory = directory;
        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator() }) { BaseAddress = new Uri(app.Urls.First()) };
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<StatsDTestApp> StartAsync(int statsdPort, Action<IServiceCollection>? services = null, params (string Key, string Value)[] settings)
    {
        var directory = Directory.CreateTempSubdirectory("cloudproxy-statsd-test-").FullName;
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudProxy:Spool:Path"] = Path.Combine(directory, "spool"),
            ["CloudProxy:StatsD:Forwarder:Port"] = statsdPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        services?.Invoke(builder.Services);
        var roles = ServiceRoles.FromNames(ServiceRoles.StatsDIngress, ServiceRoles.StatsDForwarder);
        builder.Services.AddCloudProxyCore(builder.Configuration, roles, BuildInfo.FromAssembly(typeof(StatsDTestApp).Assembly)).AddStatsD();
        var app = builder.Build();
        app.MapStatsD();
        await app.StartAsync();
        return new StatsDTestApp(app, directory);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

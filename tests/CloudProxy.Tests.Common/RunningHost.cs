using CloudProxy.Host;
using Microsoft.AspNetCore.Builder;
using Prometheus;

namespace CloudProxy.Tests.Common;

/// <summary>
/// The real cloudproxy host, started in-process on Kestrel at 127.0.0.1 with a free port and its own spool
/// file. Later arguments override earlier ones, so a test can override the defaults below.
/// </summary>
public sealed class RunningHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _ownedDirectory;
    private bool _stopped;

    private RunningHost(WebApplication app, Uri baseAddress, string spoolPath, string? ownedDirectory)
    {
        _app = app;
        BaseAddress = baseAddress;
        SpoolPath = spoolPath;
        _ownedDirectory = ownedDirectory;
        // No trace headers of the test process's own: hosts in this process listen to HttpClient activities,
        // which would otherwise add a second traceparent to requests, as no outside client does.
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false, ActivityHeadersPropagator = null }) { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public string SpoolPath { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<RunningHost> StartAsync(params string[] args) => StartWithSpoolAsync(spoolPath: null, args);

    /// <summary>Starts a host; pass the same <paramref name="spoolPath"/> to simulate a restart.</summary>
    public static async Task<RunningHost> StartWithSpoolAsync(string? spoolPath, params string[] args)
    {
        string? owned = null;
        if (spoolPath is null)
        {
            owned = Directory.CreateTempSubdirectory("cloudproxy-test-").FullName;
            spoolPath = Path.Combine(owned, "spool");
        }

        string[] all =
        [
            "--urls", "http://127.0.0.1:0",
            "--spool-path", spoolPath,
            // Every other file the host writes goes beside the spool, never into the working directory.
            "--data-dir", Path.GetDirectoryName(spoolPath)!,
            "--CloudProxy:Outbox:DrainTimeoutSeconds=5",
            "--Logging:LogLevel:Default=Warning",
            // Graphite (issue 4): its own listeners on free ports, its state and spools beside the spool file.
            "--CloudProxy:Graphite:Gateway:PlaintextAddress=127.0.0.1:0",
            "--CloudProxy:Graphite:Gateway:AdminAddress=127.0.0.1:0",
            $"--CloudProxy:State:Path={Path.Combine(Path.GetDirectoryName(spoolPath)!, "state.db")}",
            $"--CloudProxy:Graphite:Forwarder:SpoolDirectory={Path.Combine(Path.GetDirectoryName(spoolPath)!, "graphite-spool")}",
            .. args,
        ];
        var app = CloudProxyApp.Build(all);
        await app.StartAsync();
        var address = app.Urls.First(u => u.StartsWith("http", StringComparison.Ordinal));
        return new RunningHost(app, new Uri(address), spoolPath, owned);
    }

    /// <summary>The host's own Prometheus exposition, scraped over HTTP as Prometheus would.</summary>
    public Task<string> ScrapeMetricsAsync() => Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    /// <summary>Reads one sample from this host's registry by exported name and labels, e.g. ("topic","statsd").</summary>
    public async Task<double> MetricAsync(string name, params (string Label, string Value)[] labels)
    {
        var text = await ScrapeMetricsAsync();
        return PrometheusText.Sum(text, name, labels);
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        Client.Dispose();
        if (_ownedDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal CollectorRegistry Registry => (CollectorRegistry)_app.Services.GetService(typeof(CollectorRegistry))!;
}

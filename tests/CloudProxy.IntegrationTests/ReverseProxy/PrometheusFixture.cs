using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>
/// A real Prometheus (Debian package <c>prometheus</c>) on 127.0.0.1 with its own temporary config and TSDB,
/// scraping every second a target this fixture serves, whose one metric (<c>cloudproxy_test_pressure</c>) the
/// test sets. Stopped by its own process id. Fails loudly with the install command when absent.
/// </summary>
public sealed class PrometheusFixture : IAsyncDisposable
{
    public const string InstallHint = "prometheus is not installed; install it with: apt-get install -y prometheus";

    private readonly Process _process;
    private readonly WebApplication _target;
    private readonly DirectoryInfo _directory;
    private double _pressure;

    private PrometheusFixture(Process process, WebApplication target, DirectoryInfo directory, Uri address)
    {
        _process = process;
        _target = target;
        _directory = directory;
        Address = address;
    }

    public Uri Address { get; }

    public double Pressure
    {
        get => Volatile.Read(ref _pressure);
        set => Volatile.Write(ref _pressure, value);
    }

    public static async Task<PrometheusFixture> StartAsync()
    {
        var executable = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(InstallHint);
        var directory = Directory.CreateTempSubdirectory("cloudproxy-prometheus-");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var target = builder.Build();
        PrometheusFixture? self = null;
        target.MapGet("/metrics", () => Results.Text(
            $"# TYPE cloudproxy_test_pressure gauge\ncloudproxy_test_pressure {self!.Pressure.ToString(CultureInfo.InvariantCulture)}\n", "text/plain; version=0.0.4"));
        await target.StartAsync();
        var targetAddress = new Uri(target.Urls.First());

        var port = Loopback.FreeTcpPort();
        var config = Path.Combine(directory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: pressure
                static_configs:
                  - targets: ['127.0.0.1:{targetAddress.Port}']
            """);
        var process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(directory.FullName, "data"),
                $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {executable}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        self = new PrometheusFixture(process, target, directory, new Uri($"http://127.0.0.1:{port}"));

        using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = self.Address, Timeout = TimeSpan.FromSeconds(2) };
        var ready = await Eventually.TrueAsync(async () =>
        {
            if (process.HasExited)
            {
                return false;
            }

            try
            {
                // Ready, and the target scraped at least once.
                var body = await client.GetStringAsync(new Uri("/api/v1/query?query=cloudproxy_test_pressure", UriKind.Relative));
                return body.Contains("cloudproxy_test_pressure", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        if (!ready)
        {
            await self.DisposeAsync();
            throw new InvalidOperationException($"prometheus on 127.0.0.1:{port} did not become ready (exited: {process.HasExited})");
        }

        return self;
    }

    /// <summary>Kills this fixture's Prometheus (by its own process id): queries then fail to connect.</summary>
    public async Task StopAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();

        _process.Dispose();
        await _target.StopAsync();
        await _target.DisposeAsync();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

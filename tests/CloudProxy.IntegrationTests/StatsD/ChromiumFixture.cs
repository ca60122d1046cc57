using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// Debian's chromium, headless, and a tiny Kestrel on its own 127.0.0.1 port serving the test page, so the
/// page's origin differs from the proxy's. The page reports what its fetch saw back to its own server.
/// Fails loudly with the install command when chromium is missing.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string InstallCommand = "apt-get install -y chromium";

    private WebApplication? _pages;

    public string Chromium { get; private set; } = string.Empty;

    public Uri PageOrigin { get; private set; } = null!;

    /// <summary>Pages by path, set by a test before it opens one.</summary>
    public ConcurrentDictionary<string, string> Pages { get; } = new();

    /// <summary>Results the pages reported, by page path.</summary>
    public ConcurrentDictionary<string, string> Reports { get; } = new();

    public async Task InitializeAsync()
    {
        Chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"chromium is not installed: run `{InstallCommand}`");

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _pages = builder.Build();
        _pages.MapGet("/page/{name}", (string name) => Pages.TryGetValue(name, out var html)
            ? Microsoft.AspNetCore.Http.Results.Text(html, "text/html; charset=utf-8")
            : Microsoft.AspNetCore.Http.Results.NotFound());
        _pages.MapGet("/result/{name}", (string name, string value) =>
        {
            Reports[name] = value;
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        await _pages.StartAsync();
        PageOrigin = new Uri(_pages.Urls.First());
    }

    /// <summary>Opens the page in a fresh headless chromium and waits (bounded) until it reported a result.</summary>
    public async Task<string?> OpenAsync(string name, TimeSpan timeout)
    {
        var profile = Directory.CreateTempSubdirectory("cloudproxy-chromium-").FullName;
        var start = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            "--virtual-time-budget=20000", "--dump-dom", new Uri(PageOrigin, "/page/" + name).ToString(),
        })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start chromium");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await CloudProxy.Tests.Common.Eventually.TrueAsync(() => Reports.ContainsKey(name) || process.HasExited, timeout);
            if (!Reports.ContainsKey(name) && process.HasExited)
            {
                // --dump-dom exits after the page settles; give the report request a moment to land.
                await CloudProxy.Tests.Common.Eventually.TrueAsync(() => Reports.ContainsKey(name), TimeSpan.FromSeconds(2));
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        if (Reports.TryGetValue(name, out var result))
        {
            return result;
        }

        throw new InvalidOperationException($"page {name} reported nothing; chromium said: {await stderr}\n{await stdout}");
    }

    public async Task DisposeAsync()
    {
        if (_pages is not null)
        {
            await _pages.DisposeAsync();
        }
    }
}

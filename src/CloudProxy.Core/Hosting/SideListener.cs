using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace CloudProxy.Core.Hosting;

/// <summary>
/// A second Kestrel server inside the host process, for endpoints that must never share the main listener
/// (the Graphite admin API, the reverse proxy's catch-all routes). It starts and stops with the host; the
/// subclass builds it (listening and mapped) or declines to.
/// </summary>
public abstract class SideListener : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Where it listens once started (the real port when 0 was asked for), or null when not started.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _app = Build();
        if (_app is null)
        {
            return;
        }

        await _app.StartAsync(cancellationToken);
        Address = new Uri(_app.Urls.First());
        OnStarted(Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The server, configured to listen and mapped; null when it should not run in this process.</summary>
    protected abstract WebApplication? Build();

    /// <summary>Called once it listens (for a log line).</summary>
    protected virtual void OnStarted(Uri address)
    {
    }
}

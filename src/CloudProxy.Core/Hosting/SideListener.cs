using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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

        try
        {
            await _app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ListenerBindException.IsBindFailure(ex))
        {
            throw new ListenerBindException(ListenSetting, ListenAddress, ex);
        }

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

    /// <summary>The configuration key that sets where it listens (named when the address cannot be taken).</summary>
    protected abstract string ListenSetting { get; }

    /// <summary>The address it listens on, as configured.</summary>
    protected abstract string ListenAddress { get; }

    /// <summary>The server, configured to listen and mapped; null when it should not run in this process.</summary>
    protected abstract WebApplication? Build();

    /// <summary>Called once it listens (for a log line).</summary>
    protected virtual void OnStarted(Uri address)
    {
    }

    /// <summary>
    /// Makes the side server log through the host's logger factory (same providers and levels), without a second
    /// set of lifetime lines ("Now listening on", "Application started", "shutting down"): the subclass writes
    /// its own one line in <see cref="OnStarted"/>, and an operator (or a script reading "Now listening on")
    /// sees only the main listener's.
    /// </summary>
    protected static void ShareHostLogging(WebApplicationBuilder builder, ILoggerFactory hostLoggers)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(hostLoggers);
        builder.Logging.ClearProviders();

        // The container owns (and disposes) the wrapper; the host's factory stays the host's.
#pragma warning disable CA2000
        builder.Services.AddSingleton<ILoggerFactory>(new WithoutLifetimeLines(hostLoggers));
#pragma warning restore CA2000
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        QuietBindFailures.Register(builder.Services);
    }

    private sealed class WithoutLifetimeLines(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName == "Microsoft.Hosting.Lifetime" ? NullLogger.Instance : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
            // The host's factory belongs to the host.
        }
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CloudProxy.Core.Hosting;

/// <summary>
/// The generic host logs "Hosting failed to start" at Error with the exception's stack trace before
/// <c>StartAsync</c> throws. For a listener that cannot take its address that is noise around the one line the
/// executable writes (address, option, reason; exit code 2), so this logger, put in place of the host's own,
/// leaves out entries whose exception is a bind failure and passes every other on. Registered in the main
/// host and in every <see cref="SideListener"/> that logs.
/// </summary>
public static class QuietBindFailures
{
    // Microsoft.Extensions.Hosting's internal Host asks the container for ILogger<Internal.Host>. If a future
    // runtime renames it, nothing is replaced and only the stack trace comes back (a test would say so).
    private static readonly Type? HostType = typeof(HostBuilder).Assembly.GetType("Microsoft.Extensions.Hosting.Internal.Host");

    public static void Register(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (HostType is not null)
        {
            services.AddSingleton(typeof(ILogger<>).MakeGenericType(HostType), typeof(HostLogger<>).MakeGenericType(HostType));
        }
    }

    /// <summary>The host's logger (same category, same rules), without the bind failures.</summary>
    private sealed class HostLogger<T>(ILoggerFactory factory) : ILogger<T>
    {
        private readonly ILogger _inner = new Logger<T>(factory);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => _inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!ListenerBindException.IsBindFailure(exception))
            {
                _inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}

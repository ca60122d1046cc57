using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace CloudProxy.Core.Logging;

/// <summary>
/// The log levels the host starts with, in code, so the binary logs the same from any working directory (an
/// appsettings.json next to the working directory is optional; started as <c>dotnet /opt/cloudproxy/cloudproxy.dll</c>
/// it is not found). They go in as the lowest-priority configuration source: appsettings.json, <c>Logging__…</c>
/// variables and <c>--Logging:LogLevel:…</c> arguments still override each one.
/// </summary>
public static class LoggingDefaults
{
    /// <summary>
    /// Category → minimum level. The libraries below log per request or per attempt at Information or Warning;
    /// what they report is counted in CloudProxy's metrics, and failures are logged once per interval by the
    /// module that sees them (<see cref="LogThrottle"/>), so their lines show only with <c>--verbose</c>.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Levels = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Default"] = "Information",
        // Hosting writes "Request starting/finished", Routing "Executing endpoint": four lines per request.
        ["Microsoft.AspNetCore"] = "Warning",
        // "Now listening on", "Application started": once per run.
        ["Microsoft.Hosting.Lifetime"] = "Information",
        // IHttpClientFactory's handlers: "Sending HTTP request", "Received HTTP response" per request.
        ["System.Net.Http"] = "Warning",
        // Polly: an "Execution attempt" per upstream send (Information on success, Warning with the exception when
        // handled), OnRetry (Warning), OnTimeout and OnCircuitOpened (Error, with the exception). All per attempt.
        ["Polly"] = "None",
        // YARP: "Proxying to", "Received HTTP/1.1 response" per request (Information); a back end that is down is a
        // Warning with a stack trace per request (the proxy counts it as a 502 in its metrics).
        ["Yarp"] = "Error",
    };

    /// <summary>Adds <see cref="Levels"/> as the first (weakest) configuration source.</summary>
    public static void AddTo(IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Settings(verbose: false) });
    }

    /// <summary>
    /// <c>--verbose</c>: every category above, and the default, at Debug, as the last (strongest) source. A category
    /// named only in appsettings.json keeps its level there.
    /// </summary>
    public static void AddVerbose(IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Add(new MemoryConfigurationSource { InitialData = Settings(verbose: true) });
    }

    private static Dictionary<string, string?> Settings(bool verbose) =>
        Levels.ToDictionary(p => "Logging:LogLevel:" + p.Key, p => (string?)(verbose ? "Debug" : p.Value), StringComparer.OrdinalIgnoreCase);
}

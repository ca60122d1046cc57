using Microsoft.Extensions.Configuration;

namespace CloudProxy.Core.Hosting;

/// <summary>
/// The one folder for every file the host writes (spool, state store, Graphite destination spools, …):
/// <c>--data-dir</c> (<c>CloudProxy:DataDirectory</c>), default <c>data</c> under the working directory; the
/// image sets <c>/data</c>. A module's own path option still wins when set; its default is derived here, so
/// moving the data directory moves every file.
/// </summary>
public static class DataDirectory
{
    public const string Key = "CloudProxy:DataDirectory";

    public const string Default = "data";

    /// <summary>The data directory as an absolute path (relative values are relative to the working directory).</summary>
    public static string Root(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration[Key];
        return Path.GetFullPath(string.IsNullOrWhiteSpace(value) ? Default : value);
    }

    /// <summary>The absolute path of <paramref name="relative"/> (a file or folder name) inside the data directory.</summary>
    public static string Resolve(IConfiguration configuration, string relative) => Path.Combine(Root(configuration), relative);

    /// <summary><paramref name="configured"/> when a path option is set, else <paramref name="relative"/> inside the data directory.</summary>
    public static string Or(IConfiguration configuration, string? configured, string relative) =>
        string.IsNullOrWhiteSpace(configured) ? Resolve(configuration, relative) : configured;
}

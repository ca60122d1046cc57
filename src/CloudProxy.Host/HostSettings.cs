using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Host.HostSettings.Section, typeof(CloudProxy.Host.HostSettings))]

namespace CloudProxy.Host;

/// <summary>
/// Section <c>CloudProxy</c>: the host's own keys. Read straight from configuration where they are used
/// (<c>ServiceRoles</c>, logging, <c>DataDirectory</c>); this class only declares them for <c>--help</c> and the flag table.
/// </summary>
internal sealed class HostSettings
{
    public const string Section = "CloudProxy";

    [Setting("all | comma list of services to run (default all)")]
    [Flag("--services")]
    public string Services { get; set; } = "all";

    [Setting("Folder for every file the host writes: spool, state.db, Graphite spools (default ./data; /data in the image)")]
    [Flag("--data-dir")]
    public string? DataDirectory { get; set; }

    [Setting("Debug logging")]
    [Flag("--verbose", Origin = "statsd-http-proxy")]
    [Flag("--debug", Origin = "ogre", Help = "debug logging (same as --verbose)")]
    public bool Verbose { get; set; }
}

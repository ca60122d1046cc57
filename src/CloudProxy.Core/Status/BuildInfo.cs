using System.Globalization;
using System.Reflection;

namespace CloudProxy.Core.Status;

/// <summary>Version, commit and build time, read once from the host assembly's attributes.</summary>
public sealed record BuildInfo(string Version, string Commit, string BuildTime)
{
    public static BuildInfo FromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        var commit = plus < 0 ? "unknown" : informational[(plus + 1)..];
        var buildTime = assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BuildTime")?.Value ?? "unknown";
        return new BuildInfo(version, commit, buildTime);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"cloudproxy {Version} (commit {Commit}, built {BuildTime})");
}

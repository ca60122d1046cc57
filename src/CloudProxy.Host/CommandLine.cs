using System.Globalization;
using System.Reflection;
using System.Text;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Options;
using CloudProxy.Graphite;
using CloudProxy.Sentry;
using CloudProxy.StatsD;
using CloudProxy.Transport.Dapr;

namespace CloudProxy.Host;

/// <summary>
/// The command-line flags (ours and the seeds' legacy names) mapped onto configuration keys, and the text of
/// <c>--help</c>: both derived from the <see cref="SettingAttribute"/> and <see cref="FlagAttribute"/> declared on each
/// options property. Everything else on the command line is standard .NET configuration
/// (<c>--CloudProxy:Outbox:Capacity=1000</c>), as are appsettings.json and <c>CloudProxy__…</c> variables.
/// </summary>
internal static class CommandLine
{
    public sealed record Flag(string Name, string Key, string Help, bool IsSwitch = false, string? Origin = null);

    /// <summary>The assemblies whose <see cref="SettingSectionAttribute"/>s declare every setting the host knows.</summary>
    private static readonly Assembly[] Modules =
    [
        typeof(CommandLine).Assembly,
        typeof(CloudProxyCoreExtensions).Assembly,
        typeof(DaprTransportExtensions).Assembly,
        typeof(StatsDServiceCollectionExtensions).Assembly,
        typeof(SentryServiceCollectionExtensions).Assembly,
        typeof(GraphiteServiceCollectionExtensions).Assembly,
        typeof(CloudProxy.ReverseProxy.ReverseProxyServiceCollectionExtensions).Assembly,
    ];

    /// <summary>Every setting, from the <see cref="SettingAttribute"/>s and <see cref="FlagAttribute"/>s on the options classes.</summary>
    public static readonly IReadOnlyList<SettingInfo> Settings = SettingCatalog.From(Modules);

    /// <summary>Every flag, ours and the seeds', derived from <see cref="Settings"/>.</summary>
    public static readonly IReadOnlyList<Flag> Flags =
    [
        .. Settings.SelectMany(setting => setting.Flags.Select(flag => new Flag(
            flag.Name,
            setting.Key,
            flag.Help ?? setting.Help ?? string.Empty,
            setting.IsSwitch,
            flag.Origin))),
    ];

    /// <summary>
    /// The seeds' environment variables (<see cref="SeedEnvironmentAttribute"/>: polymur-gateway's <c>POLYMUR_GW_*</c>)
    /// mapped onto the same keys as their flags; flags given later override them.
    /// </summary>
    public static Dictionary<string, string?> FromEnvironment()
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var seed in Modules.SelectMany(m => m.GetCustomAttributes<SeedEnvironmentAttribute>()))
        {
            foreach (var flag in Flags.Where(f => f.Origin == seed.Origin))
            {
                var name = seed.Prefix + flag.Name.TrimStart('-').Replace('-', '_').ToUpperInvariant();
                if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                {
                    values[flag.Key] = value;
                }
            }
        }

        return values;
    }

    /// <summary>Rewrites legacy switches (<c>--verbose</c>) into key=value form and maps flag names onto keys.</summary>
    public static string[] Normalize(string[] args, out Dictionary<string, string> switchMappings)
    {
        ArgumentNullException.ThrowIfNull(args);
        switchMappings = Flags.ToDictionary(f => f.Name, f => f.Key, StringComparer.OrdinalIgnoreCase);
        var result = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var flag = Flags.FirstOrDefault(f => f.IsSwitch && string.Equals(f.Name, arg, StringComparison.OrdinalIgnoreCase));
            if (flag is not null)
            {
                var next = i + 1 < args.Length ? args[i + 1] : null;
                if (next is not null && bool.TryParse(next, out _))
                {
                    result.Add($"{arg}={next}");
                    i++;
                }
                else
                {
                    result.Add($"{arg}=true");
                }

                continue;
            }

            // sentry (issue 3): ogre's --httpproxy.port is a Go listen address (":80", "0.0.0.0:80"); keep the port.
            if (arg.StartsWith("--httpproxy.port", StringComparison.OrdinalIgnoreCase))
            {
                var inline = arg.IndexOf('=', StringComparison.Ordinal);
                var value = inline >= 0 ? arg[(inline + 1)..] : i + 1 < args.Length ? args[++i] : string.Empty;
                result.Add("--httpproxy.port=" + value[(value.LastIndexOf(':') + 1)..]);
                continue;
            }

            result.Add(arg);
        }

        return [.. result];
    }

    /// <summary>
    /// How to name a setting in a message: the flag the user gave for it (any alias), else its main flag, then
    /// the key, e.g. <c>-api-addr, CloudProxy:Graphite:Gateway:AdminAddress</c>; only the key when no flag maps to it.
    /// </summary>
    public static string NameOf(string key, string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var flags = Flags.Where(f => string.Equals(f.Key, key, StringComparison.OrdinalIgnoreCase)).ToList();
        var given = flags.FirstOrDefault(f => args.Any(a => string.Equals(a.Split('=', 2)[0], f.Name, StringComparison.OrdinalIgnoreCase)));
        var flag = given ?? flags.FirstOrDefault();
        return flag is null ? key : $"{flag.Name}, {key}";
    }

    public static bool Wants(string[] args, params string[] names) =>
        args.Any(a => names.Contains(a, StringComparer.OrdinalIgnoreCase));

    public static string HelpText(string version)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"cloudproxy {version}: telemetry edge proxies (StatsD over HTTP, Sentry buffering proxy, Graphite gateway, reverse proxy)");
        text.AppendLine();
        text.AppendLine("Usage: cloudproxy [options]");
        text.AppendLine();
        text.AppendLine("Options:");
        foreach (var flag in Flags)
        {
            var origin = flag.Origin is null ? string.Empty : $" [alias from {flag.Origin}]";
            Wrap(text, $"  {flag.Name,-20} ", flag.Help + origin);
            text.AppendLine(CultureInfo.InvariantCulture, $"  {string.Empty,-20} = {flag.Key}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--urls",-20} ASP.NET Core listen URLs (overrides --http-host/--http-port)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--version",-20} print the version and exit");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--help, -h",-20} print this help and exit");
        text.AppendLine();
        text.AppendLine("Services: all, statsd-ingress, statsd-forwarder, sentry-ingress, sentry-forwarder, graphite-gateway, graphite-forwarder, reverse-proxy");
        text.AppendLine();
        text.AppendLine("Any setting can also be given as --Section:Key=value, in appsettings.json, or as an environment");
        text.AppendLine("variable CloudProxy__Section__Key. Settings by section (default in brackets):");
        foreach (var section in Settings.GroupBy(setting => setting.Section))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {section.Key}");
            foreach (var setting in section)
            {
                Wrap(text, $"    {setting.Name,-26} ", Describe(setting));
            }
        }

        text.AppendLine("  cloudproxy keys list|create|regen|delete|set-quota|clear-quota …   manage Graphite API keys (see `cloudproxy keys`)");
        text.AppendLine("  cloudproxy graphite-route-test --rules FILE < lines   where each line would go (as carbon-c-relay -t)");
        text.AppendLine("  OTEL_EXPORTER_OTLP_ENDPOINT  export traces over OTLP when set");
        return text.ToString();
    }

    private static string Describe(SettingInfo setting)
    {
        var help = setting.Help ?? string.Empty;
        var type = Nullable.GetUnderlyingType(setting.Type) ?? setting.Type;
        if (type.IsEnum)
        {
            help += $" ({string.Join('|', Enum.GetNames(type))})";
        }

        return setting.Default is { } value ? $"{help} [{value}]" : help;
    }

    /// <summary>Appends <paramref name="lead"/> + <paramref name="body"/> wrapped at 118 columns, continuation lines indented.</summary>
    private static void Wrap(StringBuilder text, string lead, string body)
    {
        const int Width = 118;
        var line = new StringBuilder(lead);
        foreach (var word in body.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length + word.Length + 1 > Width && line.Length > lead.Length)
            {
                text.AppendLine(line.ToString().TrimEnd());
                line.Clear().Append(' ', lead.Length);
            }

            line.Append(word).Append(' ');
        }

        text.AppendLine(line.ToString().TrimEnd());
    }
}

using System.Reflection;
using CloudProxy.Core.Options;
using CloudProxy.Host;
using CloudProxy.StatsD;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// Each option is declared once, on its property ([Setting] help, [Flag] names); the flag table, --help and the
/// names in validation messages come from there. These tests keep every option declared.
/// </summary>
public class SettingCatalogTests
{
    [Fact]
    public void Every_setting_has_help()
    {
        var missing = CommandLine.Settings.Where(s => string.IsNullOrWhiteSpace(s.Help)).Select(s => s.Key).ToList();
        Assert.True(missing.Count == 0, "settings without [Setting(help)]: " + string.Join(", ", missing));
        Assert.True(CommandLine.Settings.Count > 150, $"only {CommandLine.Settings.Count} settings found: a [SettingSection] is missing");
    }

    [Fact]
    public void Every_options_class_with_a_section_is_in_the_catalog()
    {
        // An options class bound to a section (it has a Section constant) whose module did not declare it with
        // [assembly: SettingSection] would have no help and no flags.
        var declared = CommandLine.Settings.Select(s => s.Section).ToHashSet(StringComparer.Ordinal);
        var assemblies = CommandLine.Settings.Count == 0 ? [] : new[]
        {
            typeof(CommandLine).Assembly, typeof(SettingCatalog).Assembly, typeof(StatsDServiceCollectionExtensions).Assembly,
            typeof(CloudProxy.Sentry.SentryServiceCollectionExtensions).Assembly, typeof(CloudProxy.Graphite.GraphiteServiceCollectionExtensions).Assembly,
            typeof(CloudProxy.ReverseProxy.ReverseProxyServiceCollectionExtensions).Assembly,
            typeof(CloudProxy.Transport.Dapr.DaprTransportExtensions).Assembly,
        };
        var sections = assemblies.SelectMany(a => a.GetTypes())
            .Select(t => t.GetField("Section", BindingFlags.Public | BindingFlags.Static))
            .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
            .Select(f => (string)f!.GetRawConstantValue()!)
            .ToList();
        Assert.NotEmpty(sections);
        Assert.All(sections, section => Assert.Contains(section, declared));
    }

    [Fact]
    public void Flag_names_are_unique_and_help_shows_every_setting_with_its_section()
    {
        var duplicates = CommandLine.Flags.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
        var help = CommandLine.HelpText("0");
        foreach (var section in CommandLine.Settings.GroupBy(s => s.Section))
        {
            Assert.True(help.Contains("\n  " + section.Key + "\n", StringComparison.Ordinal), $"--help has no block for {section.Key}");
            foreach (var setting in section)
            {
                Assert.Contains("    " + setting.Name + " ", help, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void A_validation_message_names_a_setting_by_its_key_and_its_first_flag()
    {
        Assert.Equal("CloudProxy:StatsD:Forwarder:Port (--statsd-port)",
            SettingCatalog.Name<StatsDForwarderOptions>("CloudProxy:StatsD:Forwarder", nameof(StatsDForwarderOptions.Port)));
        Assert.Equal("CloudProxy:StatsD:Forwarder:MaxDatagramBytes",
            SettingCatalog.Name<StatsDForwarderOptions>("CloudProxy:StatsD:Forwarder", nameof(StatsDForwarderOptions.MaxDatagramBytes)));
        var port = CommandLine.Settings.Single(s => s.Key == "CloudProxy:Http:Port");
        Assert.Equal(["--http-port", "--httpproxy.port", "-listen-http-port", "-listen-https-port"], port.Flags.Select(f => f.Name));
        Assert.Equal("8080", port.Default);
    }
}

using System.Text.RegularExpressions;
using CloudProxy.Core.Hosting;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// dapr.yaml and tye.yaml start the same services with the same app ids and ports, and every service the
/// binary implements is in both. (The Helm chart joins this check when it lands.)
/// </summary>
public partial class LocalRunFilesTests
{
    internal static string RepoFile(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CloudProxy.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return File.ReadAllText(Path.Combine(dir.FullName, name));
    }

    internal static Dictionary<string, (string Services, int Port)> DaprApps()
    {
        var apps = new Dictionary<string, (string, int)>();
        foreach (var block in RepoFile("dapr.yaml").Split("\n  - appID:").Skip(1))
        {
            var id = block.Split('\n')[0].Trim();
            var appPort = int.Parse(AppPort().Match(block).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var services = DaprServices().Match(block).Groups[1].Value;
            var urlPort = int.Parse(UrlPort().Match(block).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(appPort, urlPort);
            Assert.Contains("\"--transport\", \"dapr\"", block, StringComparison.Ordinal);
            apps[id] = (services, appPort);
        }

        return apps;
    }

    internal static Dictionary<string, (string Services, int Port)> TyeServices()
    {
        var services = new Dictionary<string, (string, int)>();
        var text = RepoFile("tye.yaml");
        foreach (var block in text[text.IndexOf("services:", StringComparison.Ordinal)..].Split("\n  - name:").Skip(1))
        {
            var name = block.Split('\n')[0].Trim();
            var args = TyeArgs().Match(block);
            Assert.True(args.Success, $"tye service {name} has no --services argument");
            Assert.Contains("--transport dapr", block, StringComparison.Ordinal);
            var port = int.Parse(TyePort().Match(block).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            services[name] = (args.Groups[1].Value, port);
        }

        return services;
    }

    [Fact]
    public void Dapr_multi_app_run_and_tye_start_the_same_services_on_the_same_ports()
    {
        var dapr = DaprApps();
        var tye = TyeServices();
        Assert.Equal(dapr.OrderBy(kv => kv.Key), tye.OrderBy(kv => kv.Key));
        Assert.Equal(dapr.Count, dapr.Values.Select(v => v.Port).Distinct().Count());
    }

    [Fact]
    public void Every_service_the_binary_implements_runs_as_its_own_app_named_after_it()
    {
        var dapr = DaprApps();
        Assert.Equal(ServiceRoles.Implemented.Order(), dapr.Keys.Order());
        Assert.All(dapr, kv => Assert.Equal(kv.Key, kv.Value.Services));
    }

    [GeneratedRegex(@"appPort:\s*(\d+)")]
    private static partial Regex AppPort();

    [GeneratedRegex(@"""--services"",\s*""([a-z-]+)""")]
    private static partial Regex DaprServices();

    [GeneratedRegex(@"http://127\.0\.0\.1:(\d+)")]
    private static partial Regex UrlPort();

    [GeneratedRegex(@"args:\s*--services\s+([a-z-]+)")]
    private static partial Regex TyeArgs();

    [GeneratedRegex(@"port:\s*(\d+)")]
    private static partial Regex TyePort();
}

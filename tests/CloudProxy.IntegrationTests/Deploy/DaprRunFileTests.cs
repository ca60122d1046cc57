using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// What <c>tye run</c> and <c>dapr run -f dapr.yaml</c> (and the <c>dapr run</c> lines of the READMEs) hand the dapr
/// CLI, checked against the CLI's own source: a flag the CLI does not have stops <c>dapr run</c>, and a run-file key
/// it does not know is silently ignored (gopkg.in/yaml.v2 Unmarshal is not strict). The known sets are copied from
/// the sources, with their commits, below; update them from a newer source, not from memory.
/// </summary>
public sealed partial class DaprRunFileTests
{
    /// <summary>
    /// dapr/cli cmd/run.go@bc695e97 lines 474-510 (RunCmd.Flags) and cmd/dapr.go:111 (the persistent --log-as-json).
    /// --dapr-http-max-request-size and --dapr-http-read-buffer-size were removed in 1.15 (commit ac6822ea,
    /// "Remove deprecated flags"); --components-path and --app-ssl are deprecated but still accepted.
    /// </summary>
    internal static readonly HashSet<string> CliRunFlags = new(StringComparer.Ordinal)
    {
        "app-port", "app-id", "config", "dapr-http-port", "dapr-grpc-port", "dapr-internal-grpc-port", "enable-profiling",
        "profile-port", "log-level", "app-max-concurrency", "app-protocol", "components-path", "resources-path",
        "placement-host-address", "scheduler-host-address", "app-ssl", "metrics-port", "help", "max-body-size",
        "read-buffer-size", "unix-domain-socket", "enable-app-health-check", "app-health-check-path",
        "app-health-probe-interval", "app-health-probe-timeout", "app-health-threshold", "enable-api-logging", "kubernetes",
        "dapr-listen-addresses", "run-file", "app-channel-address", "log-as-json",
    };

    /// <summary>
    /// The run file's keys: dapr/cli pkg/runfileconfig/run_file_config.go@bc695e97 (RunFileConfig: version, name, common,
    /// apps; App: appDirPath and ContainerConfiguration inline) and pkg/standalone/run.go:51-100 (RunConfig and
    /// SharedRunConfig yaml tags; SharedRunConfig is inline in both common and every app).
    /// </summary>
    private static readonly HashSet<string> SharedRunKeys = new(StringComparer.Ordinal)
    {
        "configFilePath", "appProtocol", "apiListenAddresses", "enableProfiling", "logLevel", "appMaxConcurrency",
        "placementHostAddress", "resourcesPath", "resourcesPaths", "appSSL", "maxBodySize", "readBufferSize",
        "enableAppHealthCheck", "appHealthCheckPath", "appHealthProbeInterval", "appHealthProbeTimeout", "appHealthThreshold",
        "enableApiLogging", "runtimePath", "env", "daprdLogDestination", "appLogDestination", "schedulerHostAddress",
    };

    private static readonly HashSet<string> AppRunKeys = new(SharedRunKeys.Concat(
    [
        "appID", "appChannelAddress", "appPort", "daprHTTPPort", "daprGRPCPort", "profilePort", "command", "metricsPort",
        "unixDomainSocket", "daprInternalGRPCPort", "containerImage", "containerImagePullPolicy", "createService", "appDirPath",
    ]), StringComparer.Ordinal);

    /// <summary>
    /// Tye's dapr extension: the keys it reads (dotnet/tye src/Microsoft.Tye.Extensions/Dapr/DaprExtensionConfigurationReader.cs
    /// @75465614, lines 39-62) and the <c>dapr run</c> flag each becomes (DaprExtension.cs lines 81-159, 263-266); tye
    /// ignores any other key. <c>http-max-request-size</c> becomes a flag the CLI no longer has.
    /// </summary>
    private static readonly Dictionary<string, string?> TyeDaprKeys = new(StringComparer.Ordinal)
    {
        ["name"] = null,
        ["services"] = null,
        ["app-max-concurrency"] = "app-max-concurrency",
        ["app-protocol"] = "app-protocol",
        ["app-ssl"] = "app-ssl",
        ["components-path"] = "components-path",
        ["config"] = "config",
        ["enable-profiling"] = "enable-profiling",
        ["http-max-request-size"] = "dapr-http-max-request-size",
        ["log-level"] = "log-level",
        ["placement-port"] = "placement-host-address",
        ["app-id"] = "app-id",
        ["enabled"] = null,
        ["grpc-port"] = "dapr-grpc-port",
        ["http-port"] = "dapr-http-port",
        ["metrics-port"] = "metrics-port",
        ["profile-port"] = "profile-port",
    };

    /// <summary>DaprExtension.cs:81-87: what tye passes for every service, whatever the file says.</summary>
    private static readonly string[] TyeAlwaysPasses = ["app-id", "dapr-grpc-port", "dapr-http-port", "metrics-port", "app-port"];

    [Fact]
    public void Every_key_of_tye_yaml_s_dapr_extension_becomes_a_flag_the_current_dapr_CLI_has()
    {
        var problems = TyeProblems(YamlNodes.Load(LocalRunFilesTests.RepoFile("tye.yaml")));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_key_of_dapr_yaml_is_one_the_dapr_CLI_s_run_file_reads()
    {
        var problems = RunFileProblems(YamlNodes.Load(LocalRunFilesTests.RepoFile("dapr.yaml")));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_checks_catch_a_removed_flag_and_an_ignored_key()
    {
        // tye.yaml as it was (dc78048): http-max-request-size made tye pass --dapr-http-max-request-size.
        var oldTye = YamlNodes.Load("extensions:\n  - name: dapr\n    components-path: components/redis\n    http-max-request-size: 16\n");
        Assert.Contains(TyeProblems(oldTye), p => p.Contains("--dapr-http-max-request-size", StringComparison.Ordinal));

        // dapr.yaml as it was: daprHTTPMaxRequestSize is no run-file key, so the CLI ignored it.
        var oldRunFile = YamlNodes.Load("version: 1\ncommon:\n  maxBodySize: 16Mi\n  daprHTTPMaxRequestSize: 16\napps:\n  - appID: a\n    appDirPath: .\n");
        Assert.Contains(RunFileProblems(oldRunFile), p => p.Contains("daprHTTPMaxRequestSize", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_dapr_run_line_in_the_docs_uses_flags_the_CLI_has_and_resources_paths_that_hold_a_pubsub()
    {
        var root = HelmChart.RepoRoot;
        var problems = new List<string>();
        var files = Directory.EnumerateFiles(root, "*.md", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}artifacts{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var commands = 0;
        foreach (var file in files)
        {
            foreach (var command in DaprRunCommands(File.ReadAllText(file)))
            {
                commands++;
                var cli = command.Split(" -- ", 2)[0];
                var flags = Flag().Matches(cli).Select(m => m.Groups[1].Value).ToList();
                problems.AddRange(flags.Where(f => !CliRunFlags.Contains(f)).Select(f => $"{Path.GetRelativePath(root, file)}: dapr run has no --{f}"));
                if (flags.Contains("run-file") || !command.Contains("--transport dapr", StringComparison.Ordinal))
                {
                    continue;
                }

                var paths = ResourcesPath().Matches(cli).Select(m => m.Groups[1].Value).ToList();
                if (!paths.Any(p => ComponentTypes(Path.Combine(root, p)).Any(t => t.StartsWith("pubsub.", StringComparison.Ordinal))))
                {
                    problems.Add($"{Path.GetRelativePath(root, file)}: `{cli.Trim()}` loads no pub/sub (daprd reads only the top level of each --resources-path)");
                }
            }
        }

        Assert.True(commands > 0, "no dapr run line found in the docs");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The component types daprd loads from one resources path: YAML files at its top level only (pkg/internal/loader/disk/dirdata).</summary>
    internal static IEnumerable<string> ComponentTypes(string dir) =>
        !Directory.Exists(dir)
            ? []
            : Directory.GetFiles(dir, "*.yaml").Concat(Directory.GetFiles(dir, "*.yml"))
                .SelectMany(f => HelmChart.Parse(File.ReadAllText(f)))
                .Where(o => o.Kind == "Component")
                .Select(o => o.Scalar("spec.type") ?? string.Empty);

    private static List<string> TyeProblems(YamlMappingNode tye)
    {
        var problems = new List<string>();
        var dapr = (tye.Children[new YamlScalarNode("extensions")] as YamlSequenceNode)?.Children.OfType<YamlMappingNode>()
            .SingleOrDefault(e => (YamlNodes.Child(e, "name") as YamlScalarNode)?.Value == "dapr");
        if (dapr is null)
        {
            return ["tye.yaml has no dapr extension"];
        }

        var keys = dapr.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).ToList();
        if (YamlNodes.Child(dapr, "services") is YamlMappingNode services)
        {
            keys.AddRange(services.Children.Values.OfType<YamlMappingNode>().SelectMany(s => s.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!)));
        }

        foreach (var key in keys)
        {
            if (!TyeDaprKeys.TryGetValue(key, out var flag))
            {
                problems.Add($"tye.yaml: tye's dapr extension ignores '{key}'");
            }
            else if (flag is not null && !CliRunFlags.Contains(flag))
            {
                problems.Add($"tye.yaml: '{key}' makes tye pass --{flag}, which the dapr CLI does not have (dapr run fails)");
            }
        }

        problems.AddRange(TyeAlwaysPasses.Where(f => !CliRunFlags.Contains(f)).Select(f => $"tye always passes --{f}, which the dapr CLI does not have"));
        return problems;
    }

    private static List<string> RunFileProblems(YamlMappingNode runFile)
    {
        var problems = new List<string>();
        foreach (var (key, value) in runFile.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            switch (name)
            {
                case "version" or "name":
                    break;
                case "common":
                    problems.AddRange(Unknown((YamlMappingNode)value, SharedRunKeys, "common"));
                    break;
                case "apps":
                    foreach (var app in ((YamlSequenceNode)value).Children.Cast<YamlMappingNode>())
                    {
                        var id = (YamlNodes.Child(app, "appID") as YamlScalarNode)?.Value ?? "?";
                        problems.AddRange(Unknown(app, AppRunKeys, $"apps[{id}]"));
                    }

                    break;
                default:
                    problems.Add($"dapr.yaml: '{name}' is not a run-file key");
                    break;
            }
        }

        return problems;
    }

    private static IEnumerable<string> Unknown(YamlMappingNode map, HashSet<string> known, string where) =>
        map.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).Where(k => !known.Contains(k))
            .Select(k => $"dapr.yaml {where}: '{k}' is not a run-file key; the dapr CLI ignores it");

    /// <summary>Each <c>dapr run ...</c> of the markdown code blocks, with its backslash continuations joined.</summary>
    private static IEnumerable<string> DaprRunCommands(string markdown)
    {
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith("dapr run ", StringComparison.Ordinal))
            {
                continue;
            }

            var command = line;
            while (command.EndsWith('\\') && i + 1 < lines.Length)
            {
                command = command[..^1] + " " + lines[++i].Trim();
            }

            yield return command;
        }
    }

    [GeneratedRegex(@"(?:^|\s)--([a-z][a-z0-9-]*)")]
    private static partial Regex Flag();

    [GeneratedRegex(@"--resources-path[ =](\S+)")]
    private static partial Regex ResourcesPath();
}

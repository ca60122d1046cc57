using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// Renders helm/cloudproxy with helm-render (tools/helm-render: Helm's template engine, built by test.sh into
/// artifacts/tools) and parses every document. There is no helm binary on these machines.
/// </summary>
internal static class HelmChart
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ChartDir => Path.Combine(RepoRoot, "helm", "cloudproxy");

    public static async Task<IReadOnlyList<K8sObject>> RenderAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"helm-render failed ({code}): {stderr}");
        return Parse(stdout);
    }

    /// <summary>Renders and returns the exit code and error output (for values the chart must refuse).</summary>
    public static async Task<(int Code, string Stderr)> TryRenderAsync(params string[] args)
    {
        var (code, _, stderr) = await RunAsync(args);
        return (code, stderr);
    }

    /// <summary>The values helm-render would render with (values.yaml, then -f files, then --set), as JSON: what Helm
    /// checks against values.schema.json.</summary>
    public static async Task<string> CoalescedValuesAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync([.. args, "--show-values"]);
        Assert.True(code == 0, $"helm-render --show-values failed ({code}): {stderr}");
        return stdout;
    }

    public static IReadOnlyList<K8sObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }

        return [.. stream.Documents
            .Where(d => d.RootNode is YamlMappingNode { Children.Count: > 0 })
            .Select(d => new K8sObject((YamlMappingNode)d.RootNode))];
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        var binary = Environment.GetEnvironmentVariable("HELM_RENDER") ?? Path.Combine(RepoRoot, "artifacts", "tools", "helm-render");
        if (!File.Exists(binary))
        {
            Assert.Fail($"helm-render not found at {binary}: build it with `tools/helm-render/build.sh artifacts/tools` (./test.sh does)");
        }

        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ChartDir);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CloudProxy.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("CloudProxy.sln not found above the test binaries");
    }
}

/// <summary>One rendered Kubernetes object, read by dotted paths (<c>spec.template.metadata.annotations</c>).</summary>
internal sealed class K8sObject(YamlMappingNode root)
{
    public YamlMappingNode Root { get; } = root;

    public string Kind => Scalar("kind")!;

    public string Name => Scalar("metadata.name")!;

    /// <summary>The service this object belongs to (label app.kubernetes.io/component), if any.</summary>
    public string? Component => Map("metadata.labels")?.GetValueOrDefault("app.kubernetes.io/component");

    public string Text
    {
        get
        {
            var writer = new StringWriter();
            new YamlStream(new YamlDocument(Root)).Save(writer, assignAnchors: false);
            return writer.ToString();
        }
    }

    public YamlNode? Node(string path)
    {
        YamlNode? node = Root;
        foreach (var part in path.Split('.'))
        {
            node = node switch
            {
                YamlMappingNode map => map.Children.TryGetValue(new YamlScalarNode(part), out var child) ? child : null,
                YamlSequenceNode seq when int.TryParse(part, out var i) && i < seq.Children.Count => seq.Children[i],
                _ => null,
            };
        }

        return node;
    }

    public string? Scalar(string path) => (Node(path) as YamlScalarNode)?.Value;

    public Dictionary<string, string> Map(string path) =>
        Node(path) is YamlMappingNode map
            ? map.Children.Where(kv => kv.Value is YamlScalarNode)
                .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? string.Empty)
            : new Dictionary<string, string>();

    public IReadOnlyList<YamlNode> List(string path) => Node(path) is YamlSequenceNode seq ? [.. seq.Children] : [];

    public override string ToString() => $"{Kind}/{Name}";
}

using System.Text;

namespace CloudProxy.Graphite.Routing;

/// <summary>
/// <c>cloudproxy graphite-route-test --rules FILE &lt; lines</c>: validates a routes file and prints, for each
/// input line, the rules it meets and where it would go, in <c>carbon-c-relay -t</c>'s format (the relay prints
/// its parsed configuration first; this prints only the walks). Exit 0, or 2 with the errors when the file is bad.
/// </summary>
public static class GraphiteRouteTestCommand
{
    public const string Usage = """
        Usage: cloudproxy graphite-route-test --rules FILE < lines
          Reads carbon lines (or bare metric names) from standard input and prints, for each, the rules that
          match and where it would go, as `carbon-c-relay -t -f FILE` does. The file is the forwarder's
          CloudProxy:Graphite:Forwarder:RoutesFile (see src/CloudProxy.Graphite/README.md).
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string? path = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "--rules" or "-f" && i + 1 < args.Count)
            {
                path = args[++i];
            }
            else if (args[i].StartsWith("--rules=", StringComparison.Ordinal))
            {
                path = args[i]["--rules=".Length..];
            }
            else
            {
                path = null;
                break;
            }
        }

        if (path is null)
        {
            await stderr.WriteAsync(Usage);
            return 2;
        }

        var errors = new List<string>();
        var config = GraphiteRouteConfig.Load(path, errors);
        if (config is null)
        {
            foreach (var error in errors)
            {
                await stderr.WriteLineAsync($"cloudproxy: {error}");
            }

            return 2;
        }

        var router = new GraphiteRouter(config);
        var output = new StringBuilder();
        while (await stdin.ReadLineAsync(cancellationToken) is { } line)
        {
            // As the relay's -t: blank lines are skipped, the metric is what precedes the first space.
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            router.Describe(space < 0 ? line : line[..space], output);
            if (output.Length > 64 * 1024)
            {
                await stdout.WriteAsync(output, cancellationToken);
                output.Clear();
            }
        }

        await stdout.WriteAsync(output, cancellationToken);
        await stdout.FlushAsync(cancellationToken);
        return 0;
    }
}

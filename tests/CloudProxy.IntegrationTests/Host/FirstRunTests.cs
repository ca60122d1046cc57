using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// The first run on a real box, with the real executable as its own process: the README's commands start where
/// carbon-cache already owns 2003; an address that cannot be taken stops start-up with exit code 2 and one line
/// naming the option and the address, never a stack trace; every file goes to the data directory.
/// </summary>
public partial class FirstRunTests
{
    /// <summary>Each <c>dotnet run --project src/CloudProxy.Host …</c> command of README.md, as the arguments after <c>--</c>.</summary>
    public static TheoryData<string> ReadmeCommands()
    {
        var data = new TheoryData<string>();
        foreach (var command in ReadmeRunCommands())
        {
            data.Add(command);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ReadmeCommands))]
    public async Task A_readme_command_starts_while_carbon_owns_port_2003(string command)
    {
        using var carbon = HoldCarbonPort();
        // The README's fixed ports are moved to free ones (later arguments win); nothing else changes.
        string[] args =
        [
            .. Split(command),
            "--CloudProxy:Http:Port=0", "--CloudProxy:Graphite:Gateway:AdminAddress=127.0.0.1:0", "--CloudProxy:ReverseProxy:Listen=127.0.0.1:0",
        ];
        await using var host = ChildHost.Start(args);
        var address = await host.WaitUntilListeningAsync();
        using var client = ChildHost.ClientFor(address);
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(0, await host.StopAsync());
        Assert.DoesNotContain(host.Stdout, IsStackTrace);
    }

    public static TheoryData<string, string, string> Conflicts => new()
    {
        // option as given, the value (PORT is the taken port), the name the error line must give
        { "--http-port", "PORT", "--http-port" },
        { "-listen-http-port", "PORT", "-listen-http-port" },
        { "--urls", "http://127.0.0.1:PORT", "--urls" },
        { "--CloudProxy:Graphite:Gateway:PlaintextAddress", "127.0.0.1:PORT", "CloudProxy:Graphite:Gateway:PlaintextAddress" },
        { "-api-addr", "127.0.0.1:PORT", "-api-addr" },
        { "-listen-address", "127.0.0.1:PORT", "-listen-address" },
    };

    [Theory]
    [MemberData(nameof(Conflicts))]
    public async Task An_address_in_use_stops_start_up_with_exit_code_2_and_one_line_naming_the_option(string option, string value, string named)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        value = value.Replace("PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        List<string> args = option.StartsWith("--CloudProxy:", StringComparison.Ordinal) ? [$"{option}={value}"] : [option, value];
        if (option is not "--http-port" and not "-listen-http-port" and not "--urls")
        {
            args.AddRange(["--http-port", "0"]);
        }

        args.AddRange(option switch
        {
            "-api-addr" => ["--CloudProxy:Graphite:Gateway:AdminToken=change-me"],
            "-listen-address" => ["--services", "reverse-proxy", "-proxy-url", "http://127.0.0.1:9"],
            _ => [],
        });

        await using var host = ChildHost.Start(args);
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the host kept running although its address is taken");
        Assert.Equal(2, host.ExitCode);
        var error = Assert.Single(host.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("cloudproxy: cannot listen on ", error, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.Contains("address already in use", error, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Stdout, IsStackTrace);
    }

    [Fact]
    public async Task Every_file_the_host_writes_goes_to_the_data_directory_and_nowhere_else()
    {
        var cwd = Directory.CreateTempSubdirectory("cloudproxy-cwd-");
        var data = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-data-").FullName, "d");
        try
        {
            // Every service, and a Graphite destination (it has a spool of its own from the start).
            await using (var host = ChildHost.Start(["--http-port", "0", "--data-dir", data, "-destinations", $"127.0.0.1:{Loopback.FreeTcpPort()}"], cwd.FullName))
            {
                await host.WaitUntilListeningAsync();
                Assert.Equal(0, await host.StopAsync());
            }

            Assert.Empty(cwd.EnumerateFileSystemInfos());
            var written = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(data, f)).ToList();
            Assert.Contains(written, f => f.StartsWith("spool" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            Assert.Contains("state.db", written);
            Assert.Contains(written, f => f.StartsWith("graphite-spool" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        }
        finally
        {
            cwd.Delete(recursive: true);
            Directory.Delete(Path.GetDirectoryName(data)!, recursive: true);
        }
    }

    [Fact]
    public async Task Without_a_data_directory_the_files_go_to_data_under_the_working_directory()
    {
        await using var host = ChildHost.Start(["--http-port", "0", "--services", "graphite-gateway,graphite-forwarder"]);
        await host.WaitUntilListeningAsync();
        Assert.Equal(0, await host.StopAsync());
        Assert.True(Directory.Exists(Path.Combine(host.WorkingDirectory, "data", "spool")));
        Assert.True(File.Exists(Path.Combine(host.WorkingDirectory, "data", "state.db")));
        Assert.Equal(["data"], Directory.EnumerateFileSystemEntries(host.WorkingDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_readme_dotnet_run_writes_nothing_into_the_source_tree()
    {
        var root = ChildHost.RepositoryRoot();
        // The file system's own clock: anything written after this marker was written by the run.
        var marker = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-marker-").FullName, "started");
        await File.WriteAllTextAsync(marker, string.Empty);
        var started = File.GetLastWriteTimeUtc(marker);
        // The README's command, from the repository root, on the build this test runs against (no second build).
        await using (var host = ChildHost.Start(
            ["--CloudProxy:Http:Port=0"], root, launcher: ["run", "-c", ChildHost.Configuration, "--no-build", "--project", "src/CloudProxy.Host", "--"]))
        {
            await host.WaitUntilListeningAsync(TimeSpan.FromSeconds(120));
            var spool = host.Stdout.Select(l => SpoolLine().Match(l)).First(m => m.Success).Groups["path"].Value;
            Assert.StartsWith(Path.Combine(root, "artifacts", "data") + Path.DirectorySeparatorChar, spool, StringComparison.Ordinal);
        }

        var touched = SourceTreeFiles(root).Where(f => File.GetLastWriteTimeUtc(f) >= started).ToList();
        Directory.Delete(Path.GetDirectoryName(marker)!, recursive: true);
        Assert.Empty(touched);
    }

    private static bool IsStackTrace(string line) =>
        line.TrimStart().StartsWith("at ", StringComparison.Ordinal) || line.Contains("Unhandled exception", StringComparison.Ordinal);

    /// <summary>Binds 127.0.0.1:2003 as carbon-cache would; when something already owns it, that is as good.</summary>
    private static TcpListener? HoldCarbonPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 2003);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            return null;
        }
    }

    private static IEnumerable<string> ReadmeRunCommands()
    {
        const string prefix = "dotnet run --project src/CloudProxy.Host";
        var text = File.ReadAllText(Path.Combine(ChildHost.RepositoryRoot(), "README.md")).Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var comment = line.IndexOf(" #", StringComparison.Ordinal);
            line = (comment >= 0 ? line[..comment] : line)[prefix.Length..].Trim();
            yield return line.StartsWith("--", StringComparison.Ordinal) && (line.Length == 2 || line[2] == ' ') ? line[2..].Trim() : line;
        }
    }

    private static string[] Split(string command) => command.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Files under the checkout, leaving out build output, installed packages and git's own.</summary>
    private static IEnumerable<string> SourceTreeFiles(string root)
    {
        string[] skipped = ["bin", "obj", "artifacts", ".git", "node_modules", "TestResults"];
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                yield return file;
            }

            foreach (var sub in Directory.EnumerateDirectories(dir).Where(d => !skipped.Contains(Path.GetFileName(d))))
            {
                pending.Push(sub);
            }
        }
    }

    [GeneratedRegex(@"Spool (?<path>/\S+) opened")]
    private static partial Regex SpoolLine();
}

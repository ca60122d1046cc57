using System.Diagnostics;
using System.Globalization;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>How to run the image: what a Kubernetes pod spec (or <c>docker run</c>) would say.</summary>
internal sealed record ContainerSpec
{
    /// <summary>Arguments after the image (the chart's <c>args</c>), e.g. <c>--services all</c>.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Environment variables (the chart's <c>env</c>).</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>A volume mounted at /data, the image's data directory (the chart's emptyDir); null for none.</summary>
    public PodmanVolume? DataVolume { get; init; }

    /// <summary>The root filesystem is read-only, as the chart's securityContext makes it.</summary>
    public bool ReadOnlyRoot { get; init; } = true;

    /// <summary><c>--user</c>; null runs as the image's own USER.</summary>
    public string? User { get; init; }
}

/// <summary>
/// One container of the image, started with <c>podman run -d</c> on the host's network (its HTTP port chosen
/// free on 127.0.0.1 and given as CloudProxy__Http__Port, which the image's HEALTHCHECK reads too), removed by
/// its own name when disposed. <see cref="KillAsync"/> is <c>kill -9</c>.
/// </summary>
internal sealed class CloudProxyContainer : IAsyncDisposable
{
    private CloudProxyContainer(string name, int port)
    {
        Name = name;
        Port = port;
        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public string Name { get; }

    public int Port { get; }

    public HttpClient Client { get; }

    /// <summary>From <c>podman run</c> to the first 200 from /healthz.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Starts a container and waits (up to two minutes) until /healthz answers 200.</summary>
    public static async Task<CloudProxyContainer> StartAsync(CloudProxyImage image, ContainerSpec spec)
    {
        var name = "cloudproxy-test-" + Guid.NewGuid().ToString("N")[..12];
        var port = Loopback.FreeTcpPort();
        List<string> run = ["run", "--detach", "--name", name, .. Podman.RunFlags,
            // No systemd here to schedule health checks; tests run them with `podman healthcheck run`.
            "--health-interval=disable"];
        if (spec.ReadOnlyRoot)
        {
            run.Add("--read-only");
        }

        if (spec.User is not null)
        {
            run.AddRange(["--user", spec.User]);
        }

        if (spec.DataVolume is not null)
        {
            run.AddRange(["--volume", spec.DataVolume.Name + ":/data"]);
        }

        var env = new Dictionary<string, string>
        {
            ["CloudProxy__Http__Host"] = "127.0.0.1",
            ["CloudProxy__Http__Port"] = port.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in spec.Env)
        {
            env[key] = value;
        }

        foreach (var (key, value) in env)
        {
            run.AddRange(["--env", $"{key}={value}"]);
        }

        run.Add(image.Name);
        run.AddRange(spec.Args);

        var clock = Stopwatch.StartNew();
        var container = new CloudProxyContainer(name, port);
        try
        {
            await Podman.CheckedAsync([.. run]);
            await container.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2));
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }

        container.StartupTime = clock.Elapsed;
        return container;
    }

    /// <summary>Polls /healthz; fails with the container's log if it exits or the deadline passes.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var healthy = await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var response = await Client.GetAsync(new Uri("/healthz", UriKind.Relative));
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return !await IsRunningAsync() ? throw new InvalidOperationException($"container {Name} exited before /healthz answered:\n{await LogsAsync()}") : false;
                }
            },
            timeout);
        Assert.True(healthy, $"container {Name} did not answer /healthz within {timeout}:\n{await LogsAsync()}");
    }

    public async Task<bool> IsRunningAsync() =>
        await Podman.CheckedAsync("inspect", "--format", "{{.State.Running}}", Name) == "true";

    /// <summary>The container's process as the host sees it (runc: no user namespace, so host uids are the container's).</summary>
    public async Task<int> HostPidAsync() =>
        int.Parse(await Podman.CheckedAsync("inspect", "--format", "{{.State.Pid}}", Name), CultureInfo.InvariantCulture);

    /// <summary>stdout and stderr of the container so far.</summary>
    public async Task<string> LogsAsync()
    {
        var result = await Podman.RunAsync(["logs", Name]);
        return result.Stdout + result.Stderr;
    }

    /// <summary><c>podman healthcheck run</c>: the image's HEALTHCHECK, executed now (exit 0: healthy).</summary>
    public async Task<ProcessResult> HealthcheckAsync() => await Podman.RunAsync(["healthcheck", "run", Name]);

    /// <summary>SIGKILL, as the kernel's OOM killer or a node failure ends a pod: no shutdown code runs. Returns the exit code.</summary>
    public async Task<int> KillAsync()
    {
        await Podman.CheckedAsync("kill", "--signal", "KILL", Name);
        return await WaitForExitAsync();
    }

    /// <summary>SIGTERM and up to <paramref name="grace"/> to exit, as Kubernetes stops a pod. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        await Podman.CheckedAsync("stop", "--time", ((int)grace.TotalSeconds).ToString(CultureInfo.InvariantCulture), Name);
        return await WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        // --volumes: also the anonymous volume podman makes for the image's VOLUME when no volume is given.
        await Podman.RunAsync(["rm", "--force", "--volumes", "--time", "0", Name]);
    }

    private async Task<int> WaitForExitAsync() =>
        int.Parse((await Podman.CheckedAsync("wait", Name)).Split('\n')[^1], CultureInfo.InvariantCulture);
}

/// <summary>A named podman volume (a fresh one gets the image's /data, owner included, copied in), removed by name.</summary>
internal sealed class PodmanVolume : IAsyncDisposable
{
    private PodmanVolume(string name, string mountpoint)
    {
        Name = name;
        Mountpoint = mountpoint;
    }

    public string Name { get; }

    /// <summary>Where the volume's files are on the host.</summary>
    public string Mountpoint { get; }

    public static async Task<PodmanVolume> CreateAsync()
    {
        var name = "cloudproxy-test-" + Guid.NewGuid().ToString("N")[..12];
        await Podman.CheckedAsync("volume", "create", name);
        return new PodmanVolume(name, await Podman.CheckedAsync("volume", "inspect", "--format", "{{.Mountpoint}}", name));
    }

    public async ValueTask DisposeAsync() => await Podman.RunAsync(["volume", "rm", "--force", Name]);
}

using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>What the image is: the runtime and the app, no SDK; a non-root user; a HEALTHCHECK that works.</summary>
[Collection(ContainerTests.Name)]
public sealed class ContainerImageTests(CloudProxyImage image, ITestOutputHelper output)
{
    [ContainerFact]
    public async Task The_final_stage_holds_the_aspnet_runtime_and_the_app_but_no_sdk_and_no_sources()
    {
        output.WriteLine($"image {image.Name}: {await image.SizeBytesAsync() / 1e6:F0} MB, built in {image.BuildTime.TotalSeconds:F0} s");
        var sdks = await RunInImageAsync("dotnet", "--list-sdks");
        var runtimes = await RunInImageAsync("dotnet", "--list-runtimes");
        var files = await RunInImageAsync("bash", "-c", "ls /usr/share/dotnet; ls -d /src /root/.nuget 2>/dev/null; ls /app/cloudproxy.dll");

        Assert.Equal(string.Empty, sdks.Trim());
        Assert.Contains("Microsoft.AspNetCore.App 10.", runtimes, StringComparison.Ordinal);
        var entries = files.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("sdk", entries);
        Assert.DoesNotContain("/src", entries);
        Assert.DoesNotContain("/root/.nuget", entries);
        Assert.Contains("/app/cloudproxy.dll", entries);
    }

    [ContainerFact]
    public async Task The_service_runs_as_the_image_s_non_root_user_and_a_fresh_data_volume_is_its_own()
    {
        var user = await Podman.CheckedAsync("image", "inspect", "--format", "{{.Config.User}}", image.Name);
        await using var volume = await PodmanVolume.CreateAsync();
        await using var container = await CloudProxyContainer.StartAsync(image, new ContainerSpec
        {
            Args = ["--services", "statsd-ingress,statsd-forwarder"],
            DataVolume = volume,
        });

        // runc gives the container no user namespace: the host sees the container's uids as they are.
        var status = await File.ReadAllLinesAsync($"/proc/{await container.HostPidAsync()}/status");
        var uids = status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal("1654", user);
        Assert.Equal(["1654", "1654", "1654", "1654"], uids);
        Assert.True(Directory.Exists(Path.Combine(volume.Mountpoint, "spool")), $"no spool folder in the /data volume:\n{await container.LogsAsync()}");
        Assert.Equal(1654, await OwnerUidAsync(Path.Combine(volume.Mountpoint, "spool")));
    }

    [ContainerFact]
    public async Task The_image_s_healthcheck_asks_healthz_on_the_service_s_port()
    {
        var healthcheck = await Podman.CheckedAsync("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image.Name);
        Assert.True(healthcheck != "null", "the image has no HEALTHCHECK (or was built in OCI format, which drops it)");
        using var config = JsonDocument.Parse(healthcheck);
        await using var container = await CloudProxyContainer.StartAsync(image, new ContainerSpec { Args = ["--services", "statsd-ingress,statsd-forwarder"] });

        var healthy = await container.HealthcheckAsync();

        Assert.Contains("/healthz", string.Join(' ', config.RootElement.GetProperty("Test").EnumerateArray().Select(e => e.GetString())), StringComparison.Ordinal);
        // podman prints "unhealthy" and exits 1 when the check fails; a healthy run exits 0.
        Assert.True(healthy.ExitCode == 0, $"healthcheck: {healthy}");
    }

    private async Task<string> RunInImageAsync(string entrypoint, params string[] args)
    {
        var result = await Podman.RunAsync(["run", "--rm", .. Podman.RunFlags, "--read-only", "--entrypoint", entrypoint, image.Name, .. args]);
        Assert.True(result.ExitCode == 0, $"{entrypoint} {string.Join(' ', args)} in the image: {result}");
        return result.Stdout;
    }

    private static async Task<int> OwnerUidAsync(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { "--format=%u", path } };
        var result = await ProcessResult.RunAsync(start, TimeSpan.FromSeconds(30), "stat (coreutils) is missing");
        return int.Parse(result.Stdout.Trim(), CultureInfo.InvariantCulture);
    }
}

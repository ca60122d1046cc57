using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CloudProxy.IntegrationTests.Deploy;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>
/// The repository's Dockerfile built once per test run by tools/container/build-image.sh (podman, with local
/// stand-ins for the .NET base images, made once per machine). Podman's layer cache makes a build whose inputs
/// did not change take seconds. The tag is per checkout, so two worktrees on one machine do not swap images
/// under each other's tests.
/// </summary>
public sealed class CloudProxyImage : IAsyncLifetime
{
    public string Name { get; } = "localhost/cloudproxy:test-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(HelmChart.RepoRoot)))[..12];

    /// <summary>How long the build took in this run (cold: minutes; warm: seconds).</summary>
    public TimeSpan BuildTime { get; private set; }

    public string BuildOutput { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        if (Podman.CannotRunContainersReason is not null)
        {
            return;
        }

        var script = Path.Combine(HelmChart.RepoRoot, "tools", "container", "build-image.sh");
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Name);
        var clock = Stopwatch.StartNew();
        var result = await ProcessResult.RunAsync(start, TimeSpan.FromMinutes(30), $"{script} could not be started");
        BuildTime = clock.Elapsed;
        BuildOutput = result.Stderr;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the image failed ({result.ExitCode}):\n{result.Stderr}");
        }
    }

    /// <summary>The image's size as podman reports it (uncompressed layers).</summary>
    public async Task<long> SizeBytesAsync() =>
        long.Parse(await Podman.CheckedAsync("image", "inspect", "--format", "{{.Size}}", Name), CultureInfo.InvariantCulture);

    public Task DisposeAsync() => Task.CompletedTask;
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerTests : ICollectionFixture<CloudProxyImage>
{
    /// <summary>The container tests run alone, after the others: the image build takes both cores for minutes.</summary>
    public const string Name = "Container image";
}

/// <summary>A test that needs containers: skipped, with the reason, only where this machine cannot run any.</summary>
public sealed class ContainerFactAttribute : FactAttribute
{
    public ContainerFactAttribute()
    {
        if (Podman.CannotRunContainersReason is { } reason)
        {
            Skip = reason;
        }
    }
}

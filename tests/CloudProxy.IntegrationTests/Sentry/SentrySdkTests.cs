using CloudProxy.IntegrationTests.StatsD;
using CloudProxy.Tests.Common;
using Sentry;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>Real Sentry SDKs, pointed at the ingress by DSN, capture an exception; both upstreams get it.</summary>
public sealed class SentrySdkTests
{
    [Fact]
    public async Task The_dotnet_SDK_captures_an_exception_through_the_proxy_to_both_upstreams()
    {
        await using var rig = await SentryRig.StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        using var client = new SentryClient(new SentryOptions
        {
            Dsn = rig.Dsn,
            AutoSessionTracking = false,
            SendClientReports = false,
            IsGlobalModeEnabled = false,
        });

        SentryId id;
        try
        {
            throw new InvalidOperationException("dotnet boom " + marker);
        }
        catch (InvalidOperationException ex)
        {
            id = client.CaptureException(ex);
        }

        await client.FlushAsync(TimeSpan.FromSeconds(10));

        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 1 && rig.B.CountContaining(marker) == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single(r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            Assert.Contains($"sentry_key={key}", got.Header("X-Sentry-Auth"), StringComparison.Ordinal);
            Assert.Contains(id.ToString(), got.BodyText.Split('\n')[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_node_SDK_captures_an_exception_through_the_proxy_to_both_upstreams()
    {
        await using var rig = await SentryRig.StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        var output = await NodeSdkScript.RunAsync("sentry-capture.js", rig.Dsn, marker);
        var id = output.Trim();
        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 1 && rig.B.CountContaining(marker) == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single(r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            // @sentry/node authenticates with ?sentry_key= and also names the DSN in the envelope header.
            Assert.Contains($"sentry_key={key}", got.Query + got.Header("X-Sentry-Auth"), StringComparison.Ordinal);
            Assert.Contains(id, got.BodyText.Split('\n')[0], StringComparison.Ordinal);
        }
    }
}

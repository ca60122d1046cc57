using System.Diagnostics;
using System.Text.Json;
using CloudProxy.IntegrationTests.StatsD;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// Issue 16 (Sentry 4): with <c>CloudProxy:Sentry:Scrub</c> on, the upstreams never see the scrubbed values of an
/// error the real @sentry/node SDK sent (cookies, Authorization header, user IP, a password in extra, a card
/// number in a breadcrumb); with it off they do, so the test can fail.
/// </summary>
public sealed class SentryScrubTests
{
    private static readonly string[] Secrets =
    [
        "cookie-session-value", "auth-bearer-value", "198.51.100.23", "203.0.113.99", "hunter2-secret-pw", "4111 1111 1111 1111", "5555555555554444",
    ];

    [Fact]
    public async Task With_scrubbing_on_no_upstream_sees_any_scrubbed_value_of_the_node_SDKs_error()
    {
        const string s = "--CloudProxy:Sentry:Scrub";
        await using var rig = await SentryRig.StartAsync(
            $"{s}:Enabled=true", $"{s}:IpAddresses=true", $"{s}:Cookies=true", $"{s}:AuthHeaders=true", $"{s}:Passwords=true", $"{s}:CreditCards=true");
        var marker = await SendAsync(rig);

        foreach (var sink in new[] { rig.A, rig.B })
        {
            var request = Assert.Single(sink.Received, r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            var everything = request.Path + request.Query + string.Join('\n', request.Headers.Values) + request.BodyText;
            foreach (var secret in Secrets)
            {
                Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
            }

            // Still a valid envelope whose event kept what was not scrubbed.
            var lines = request.BodyText.Split('\n');
            using var itemHeader = JsonDocument.Parse(lines[1]);
            Assert.Equal("event", itemHeader.RootElement.GetProperty("type").GetString());
            if (itemHeader.RootElement.TryGetProperty("length", out var length))
            {
                Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(lines[2]), length.GetInt32());
            }

            using var evt = JsonDocument.Parse(lines[2]);
            var e = evt.RootElement;
            Assert.Equal("[Filtered]", e.GetProperty("extra").GetProperty("password").GetString());
            Assert.Equal($"user-{marker}", e.GetProperty("user").GetProperty("id").GetString());
            Assert.Equal("[Filtered]", e.GetProperty("user").GetProperty("ip_address").GetString());
            Assert.Equal("scrub-test", e.GetProperty("request").GetProperty("headers").GetProperty("User-Agent").GetString());
            Assert.Contains("[Filtered]", e.GetProperty("breadcrumbs").EnumerateArray().Single().GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Counted once per envelope and rule (the same scrubbed envelope goes to both upstreams).
        Assert.Equal(2, await rig.MetricAsync("cloudproxy_sentry_scrubbed_values_total", ("rule", "ip")));
        Assert.Equal(2, await rig.MetricAsync("cloudproxy_sentry_scrubbed_values_total", ("rule", "cookie")));
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_scrubbed_values_total", ("rule", "auth_header")));
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_scrubbed_values_total", ("rule", "password")));
        Assert.Equal(2, await rig.MetricAsync("cloudproxy_sentry_scrubbed_values_total", ("rule", "credit_card")));
    }

    [Fact]
    public async Task With_scrubbing_off_the_upstreams_see_every_value()
    {
        await using var rig = await SentryRig.StartAsync();
        var marker = await SendAsync(rig);
        foreach (var sink in new[] { rig.A, rig.B })
        {
            var request = Assert.Single(sink.Received, r => r.BodyText.Contains(marker, StringComparison.Ordinal));
            foreach (var secret in Secrets)
            {
                Assert.Contains(secret, request.BodyText, StringComparison.Ordinal);
            }
        }
    }

    private static async Task<string> SendAsync(SentryRig rig)
    {
        var root = StatsDDaemonFixture.RepositoryRoot();
        var script = Path.Combine(root, "tests", "node", "sentry-scrub.js");
        var sdk = Path.Combine(root, "tests", "node", "node_modules", "@sentry", "node", "package.json");
        Assert.True(File.Exists(sdk), $"@sentry/node is not installed ({sdk} missing): run `{StatsDDaemonFixture.InstallCommand}` in the repository root");
        var marker = Guid.NewGuid().ToString("N");
        var start = new ProcessStartInfo("node", [script, rig.Dsn, marker])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start: apt-get install -y nodejs npm");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var errors = node.StandardError.ReadToEndAsync(timeout.Token);
        _ = node.StandardOutput.ReadToEndAsync(timeout.Token);
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {await errors}");
        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 1 && rig.B.CountContaining(marker) == 1));
        return marker;
    }
}

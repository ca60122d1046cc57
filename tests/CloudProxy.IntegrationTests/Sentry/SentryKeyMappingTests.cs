using System.Text.Json;
using CloudProxy.IntegrationTests.StatsD;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// Issue 16 (Sentry 2): a mapped upstream never sees the client's key, wherever the SDK put it: the auth
/// (X-Sentry-Auth, <c>?sentry_key=</c>), the envelope header's <c>dsn</c> and its dynamic sampling context
/// <c>trace.public_key</c>. Real SDKs send transactions (whose envelopes carry <c>trace</c>).
/// </summary>
public sealed class SentryKeyMappingTests
{
    [Fact]
    public async Task The_node_SDKs_transaction_and_error_reach_each_upstream_with_no_trace_of_the_clients_key()
    {
        await using var rig = await SentryRig.StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        await NodeSdkScript.RunAsync("sentry-transaction.js", rig.Dsn, marker);

        // One envelope with the transaction, one with the error; both name the trace's public key.
        Assert.True(await Eventually.TrueAsync(() => rig.A.CountContaining(marker) == 2 && rig.B.CountContaining(marker) == 2));
        AssertMapped(rig, marker, expectedEnvelopes: 2);
    }

    /// <summary>Every request carrying the marker names the upstream's key everywhere and the client's nowhere.</summary>
    internal static void AssertMapped(SentryRig rig, string marker, int expectedEnvelopes)
    {
        foreach (var (sink, key) in new[] { (rig.A, SentryRig.KeyA), (rig.B, SentryRig.KeyB) })
        {
            var got = sink.Received.Where(r => r.BodyText.Contains(marker, StringComparison.Ordinal)).ToList();
            Assert.Equal(expectedEnvelopes, got.Count);
            var traced = 0;
            foreach (var request in got)
            {
                using var header = JsonDocument.Parse(request.BodyText.Split('\n')[0]);
                if (header.RootElement.TryGetProperty("trace", out var trace))
                {
                    Assert.Equal(key, trace.GetProperty("public_key").GetString());
                    traced++;
                }

                if (header.RootElement.TryGetProperty("dsn", out var dsn))
                {
                    Assert.Contains($"//{key}@", dsn.GetString(), StringComparison.Ordinal);
                }

                Assert.Contains($"sentry_key={key}", request.Query + request.Header("X-Sentry-Auth"), StringComparison.Ordinal);
                var everything = request.Path + request.Query + string.Join('\n', request.Headers.Values) + request.BodyText;
                Assert.DoesNotContain(SentryRig.Key, everything, StringComparison.OrdinalIgnoreCase);
            }

            Assert.Equal(expectedEnvelopes, traced);
        }
    }
}

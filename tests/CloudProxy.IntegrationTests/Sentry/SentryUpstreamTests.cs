using System.Net;
using System.Text.RegularExpressions;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>How the forwarder treats upstreams that are down, rate limiting, slow, or refusing for good.</summary>
public sealed class SentryUpstreamTests
{
    [Fact]
    public async Task Upstream_down_under_steady_load_then_up_every_accepted_event_arrives_exactly_once_per_upstream()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Forwarder:MaxRetries=1");
        var ids = new List<string>();
        const int total = 150;
        for (var i = 0; i < total; i++)
        {
            if (i == 30)
            {
                await rig.B.StopAsync();
            }
            else if (i == 110)
            {
                // B's outage held up nothing for A: only the copies waiting for B went to the deferral log, A got
                // every event so far, and the pump never held a batch back.
                Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count >= i), $"a={rig.A.Received.Count} of {i}");
                Assert.Equal(0, await rig.MetricAsync("cloudproxy_core_publish_failures_total"));
                Assert.True(await rig.MetricAsync("cloudproxy_core_envelopes_deferred_total") > 0);
                await rig.B.StartAgainAsync();
            }

            var id = SentryRig.NewEventId();
            using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(id));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ids.Add(id);
            await Task.Delay(10); // a steady trickle, so the outage spans many batches
        }

        Assert.True(
            await Eventually.TrueAsync(() => rig.A.Received.Count >= total && rig.B.Received.Count >= total, TimeSpan.FromSeconds(60)),
            $"a={rig.A.Received.Count} b={rig.B.Received.Count}");
        foreach (var sink in new[] { rig.A, rig.B })
        {
            var seen = sink.Received.Select(r => r.BodyText.Split('\n')[0]).ToList();
            Assert.Equal(total, seen.Count);
            Assert.Equal(total, seen.Distinct(StringComparer.Ordinal).Count());
            Assert.All(ids, id => Assert.Contains(seen, h => h.Contains(id, StringComparison.Ordinal)));
        }

        Assert.True(await rig.MetricAsync("cloudproxy_sentry_requeued_total") > 0);
        Assert.Equal(0, await rig.MetricAsync("cloudproxy_sentry_upstream_duplicates_total"));
        Assert.True(await rig.MetricAsync("ogre_sentry_failed_request_total") > 0);
    }

    [Fact]
    public async Task Upstream_429_makes_the_ingress_answer_429_with_the_same_headers_and_holds_the_event_until_the_limit_ends()
    {
        await using var rig = await SentryRig.StartAsync();
        // The first request "a" sees is answered 429 for errors of this key; later ones are accepted.
        rig.A.Responder = _ => rig.A.Attempts == 1
            ? (429, new Dictionary<string, string> { ["Retry-After"] = "60", ["X-Sentry-Rate-Limits"] = "60:error:key:quota_exceeded" })
            : null;
        var first = SentryRig.NewEventId();

        using var accepted = await rig.PostEnvelopeAsync(SentryRig.Envelope(first));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Attempts == 1 && rig.B.Received.Count == 1));

        HttpResponseMessage? limited = null;
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            limited?.Dispose();
            limited = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));
            return limited.StatusCode == HttpStatusCode.TooManyRequests;
        }));
        using (limited)
        {
            var retryAfter = int.Parse(limited!.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 55, 60);
            Assert.Matches(new Regex("^(5[5-9]|60):error:key:quota_exceeded$"), limited.Headers.GetValues("X-Sentry-Rate-Limits").Single());
        }

        // Another category is not limited; another key is not limited (the limit was scoped to the key).
        var transaction = "{}\n{\"type\":\"transaction\"}\n{\"type\":\"transaction\",\"spans\":[]}\n";
        using var other = await rig.PostEnvelopeAsync(transaction);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        // The held event is offered again by the queue but never sent to "a" before the minute is up.
        Assert.True(await Eventually.TrueAsync(async () => await rig.MetricAsync("cloudproxy_sentry_upstream_requests_total", ("upstream", "a"), ("outcome", "deferred")) >= 2));
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1));
        Assert.Equal(2, rig.A.Attempts); // the first event once (429), the transaction once (accepted)
        Assert.DoesNotContain(rig.A.Received, r => r.BodyText.Contains(first, StringComparison.Ordinal));
        Assert.Equal(1, rig.B.Received.Count(r => r.BodyText.Contains(first, StringComparison.Ordinal)));
        Assert.True(await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "rate_limited")) >= 1);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_upstream_requests_total", ("upstream", "a"), ("outcome", "rate_limited")));

        // The limit in force shows on /metrics for "a" only (the dashboard and CloudProxyUpstreamRateLimited read it).
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_rate_limits_active", ("upstream", "a")));
        Assert.Equal(0, await rig.MetricAsync("cloudproxy_sentry_rate_limits_active", ("upstream", "b")));
    }

    [Fact]
    public async Task A_slow_upstream_gets_less_concurrency_and_loses_nothing()
    {
        await using var rig = await SentryRig.StartAsync(
            "--CloudProxy:Sentry:Forwarder:InitialConcurrency=8",
            "--CloudProxy:Sentry:Forwarder:MinConcurrency=2");
        var fast = await SendManyAsync(rig, 150);
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == fast));
        var before = await rig.MetricAsync("cloudproxy_sentry_upstream_concurrency_limit", ("upstream", "a"));

        rig.A.Delay = TimeSpan.FromMilliseconds(150);
        var slow = await SendManyAsync(rig, 40);

        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == fast + slow, TimeSpan.FromSeconds(60)), $"a={rig.A.Received.Count}");
        var after = await rig.MetricAsync("cloudproxy_sentry_upstream_concurrency_limit", ("upstream", "a"));
        Assert.True(after < before, $"limit before {before}, after {after}");
        Assert.True(after >= 2, $"limit {after} fell below MinConcurrency");
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == fast + slow));
    }

    [Fact]
    public async Task An_upstream_refusing_for_good_is_dropped_and_counted_while_the_other_still_gets_it()
    {
        await using var rig = await SentryRig.StartAsync();
        rig.A.Responder = _ => (413, null);

        using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 1));
        Assert.True(await Eventually.TrueAsync(async () => await rig.MetricAsync("cloudproxy_sentry_upstream_dropped_total", ("upstream", "a"), ("reason", "status_413")) == 1));
        Assert.Equal(1, rig.A.Attempts);
        Assert.Equal(0, await rig.MetricAsync("cloudproxy_core_envelopes_delivered_total", ("outcome", "retry")));
    }

    private static async Task<int> SendManyAsync(SentryRig rig, int count)
    {
        using var gate = new SemaphoreSlim(8);
        var tasks = Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(tasks);
        return count;
    }
}

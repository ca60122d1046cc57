using System.Net;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

public sealed class SentryEndpointTests
{
    [Fact]
    public async Task Security_reports_and_legacy_store_are_accepted_and_forwarded_to_their_paths()
    {
        await using var rig = await SentryRig.StartAsync();
        using var csp = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/csp-report/?sentry_key={SentryRig.Key}", UriKind.Relative))
        {
            Content = new StringContent("{\"csp-report\":{\"document-uri\":\"https://example.com/\"}}", Encoding.UTF8, "application/csp-report"),
        };
        using var legacy = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/store/", UriKind.Relative))
        {
            Content = new StringContent("{\"message\":\"legacy\"}", Encoding.UTF8, "application/json"),
        };
        legacy.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());

        using var cspAnswer = await rig.Client.SendAsync(csp);
        using var legacyAnswer = await rig.Client.SendAsync(legacy);

        Assert.Equal(HttpStatusCode.OK, cspAnswer.StatusCode);
        Assert.Matches("^\\{\"id\":\"[0-9a-f]{32}\"\\}$", await cspAnswer.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, legacyAnswer.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 2));
        Assert.Contains(rig.B.Received, r => r.Path == "/api/202/csp-report/" && r.Header("Content-Type") == "application/csp-report; charset=utf-8");
        Assert.Contains(rig.B.Received, r => r.Path == "/api/store/" && r.Header("X-Sentry-Auth") == SentryRig.XSentryAuth(SentryRig.KeyB));
    }

    [Fact]
    public async Task A_per_key_quota_answers_429_past_its_rate()
    {
        await using var rig = await SentryRig.StartAsync("--CloudProxy:Sentry:Ingress:KeyRequestsPerSecond=2");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            }
        }

        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(statuses.Count(s => s == HttpStatusCode.TooManyRequests), await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "quota_exceeded")));
    }

    [Fact]
    public async Task Events_accepted_while_the_upstreams_are_down_survive_a_restart_and_arrive_once()
    {
        var a = await SentryUpstreamSink.StartAsync();
        var port = a.Port;
        await a.StopAsync();
        var spool = Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-sentry-").FullName, "spool");
        string[] args = ["--services", "sentry-ingress,sentry-forwarder", $"--pusher.sentry.host=http://127.0.0.1:{port}", "--CloudProxy:Outbox:MaxBackoffSeconds=0.5", "--CloudProxy:Sentry:Forwarder:MaxRetries=0"];
        var ids = Enumerable.Range(0, 20).Select(_ => SentryRig.NewEventId()).ToList();
        await using (var first = await RunningHost.StartWithSpoolAsync(spool, args))
        {
            foreach (var id in ids)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={SentryRig.Key}", UriKind.Relative))
                {
                    Content = new StringContent(SentryRig.Envelope(id)),
                };
                using var response = await first.Client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        await a.StartAgainAsync();
        await using var second = await RunningHost.StartWithSpoolAsync(spool, args);

        Assert.True(await Eventually.TrueAsync(() => a.Received.Count >= ids.Count, TimeSpan.FromSeconds(30)), $"received {a.Received.Count}");
        Assert.All(ids, id => Assert.Equal(1, a.CountContaining(id)));
        await a.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.Tests.Common;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Container;

/// <summary>
/// kill -9 of the container (OOM killer, node failure: no shutdown code runs) while it accepts envelopes and its
/// upstream is down, then a new container on the same /data volume: every envelope the first one answered 200
/// reaches the upstream once it is back. Needs the durable on-disk log (accepted = on disk).
/// </summary>
[Collection(ContainerTests.Name)]
public sealed class ContainerKillTests(CloudProxyImage image, ITestOutputHelper output)
{
    private const int MaxEnvelopes = 2_000;
    private const int KillAfterAccepted = 300;

    [ContainerFact]
    public async Task Envelopes_accepted_before_a_kill_9_with_the_upstream_down_are_delivered_by_the_next_container_on_the_same_volume()
    {
        await using var upstream = await SentryUpstreamSink.StartAsync();
        await upstream.StopAsync(); // down, on a port the next start takes again
        await using var volume = await PodmanVolume.CreateAsync();
        var spec = new ContainerSpec
        {
            Args = ["--services", "sentry-ingress,sentry-forwarder"],
            DataVolume = volume,
            Env = new Dictionary<string, string>
            {
                ["CloudProxy__Sentry__Forwarder__Upstreams__0__Name"] = "upstream",
                ["CloudProxy__Sentry__Forwarder__Upstreams__0__Url"] = upstream.Url,
                ["CloudProxy__Sentry__Forwarder__Upstreams__0__Keys__" + SentryRig.Key] = SentryRig.KeyA,
                ["CloudProxy__Outbox__MaxBackoffSeconds"] = "0.5",
            },
        };
        var accepted = new List<string>();
        int refused = 0, failed = 0;
        await using (var first = await CloudProxyContainer.StartAsync(image, spec))
        {
            // Bounded load: at most MaxEnvelopes requests; the kill comes after KillAfterAccepted answers of 200.
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var load = Task.Run(async () =>
            {
                for (var i = 0; i < MaxEnvelopes && !stop.IsCancellationRequested; i++)
                {
                    var eventId = SentryRig.NewEventId();
                    try
                    {
                        using var request = EnvelopeRequest(eventId);
                        using var response = await first.Client.SendAsync(request, stop.Token);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            lock (accepted)
                            {
                                accepted.Add(eventId);
                            }
                        }
                        else
                        {
                            refused++;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                        failed++; // the container is gone: the load ends
                        if (failed > 20)
                        {
                            return;
                        }
                    }
                }
            });
            Assert.True(await Eventually.TrueAsync(() => { lock (accepted) { return accepted.Count >= KillAfterAccepted; } }, TimeSpan.FromMinutes(2)), "the container did not accept envelopes");

            var exit = await first.KillAsync();
            await load;
            Assert.Equal(137, exit); // 128 + SIGKILL
        }

        var acceptedAtKill = accepted.ToList();
        await upstream.StartAgainAsync();
        var clock = Stopwatch.StartNew();
        await using var second = await CloudProxyContainer.StartAsync(image, spec);
        var delivered = await Eventually.TrueAsync(() => acceptedAtKill.All(id => upstream.CountContaining(id) > 0), TimeSpan.FromMinutes(3));

        var lost = acceptedAtKill.Where(id => upstream.CountContaining(id) == 0).ToList();
        var duplicates = acceptedAtKill.Sum(id => Math.Max(0, upstream.CountContaining(id) - 1));
        output.WriteLine($"accepted before kill -9: {acceptedAtKill.Count}, refused {refused}, requests cut by the kill {failed}; " +
            $"after restart: delivered {acceptedAtKill.Count - lost.Count} in {clock.Elapsed.TotalSeconds:F1} s, lost {lost.Count}, duplicates {duplicates}");
        Assert.True(delivered, $"{lost.Count} of {acceptedAtKill.Count} accepted envelopes never reached the upstream:\n{await second.LogsAsync()}");
    }

    private static HttpRequestMessage EnvelopeRequest(string eventId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/{SentryRig.Project}/envelope/", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(eventId), Encoding.UTF8, "application/x-sentry-envelope"),
        };
        request.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());
        return request;
    }
}

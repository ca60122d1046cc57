using System.Net;
using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;
using CloudProxy.Tests.Common;
using CloudProxy.Tests.Common.Dapr;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// With <c>--transport dapr</c> ingress and forwarder are separate processes: the rate limits the forwarder
/// learns reach the ingress through the Dapr state store (here: the sidecar double over a real redis-server).
/// </summary>
public sealed class SentryDaprTests
{
    [Fact]
    public async Task A_limit_learned_by_a_forwarder_process_makes_a_separate_ingress_process_answer_429()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var sidecar = await DaprSidecarDouble.StartAsync(redis, "cloudproxy-test", "statestore");
        await using var upstream = await SentryUpstreamSink.StartAsync();
        upstream.Responder = _ => (429, new Dictionary<string, string> { ["Retry-After"] = "30", ["X-Sentry-Rate-Limits"] = "30::organization" });
        string[] dapr = ["--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={sidecar.Endpoint}", $"--DAPR_HTTP_ENDPOINT={sidecar.Endpoint}", $"--pusher.sentry.host={upstream.Url}"];
        await using var forwarder = await RunningHost.StartAsync([.. dapr, "--services", "sentry-forwarder"]);
        await using var ingress = await RunningHost.StartAsync([.. dapr, "--services", "sentry-ingress", "--CloudProxy:Sentry:Ingress:RateLimitPollSeconds=0.2"]);

        // The forwarder process subscribes to the sentry topic; the ingress process does not.
        Assert.Contains("\"topic\":\"sentry\"", await forwarder.Client.GetStringAsync(new Uri("/dapr/subscribe", UriKind.Relative)), StringComparison.Ordinal);
        using (var none = await ingress.Client.GetAsync(new Uri("/dapr/subscribe", UriKind.Relative)))
        {
            Assert.DoesNotContain("\"topic\":\"sentry\"", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // What the broker would hand the forwarder: one envelope, as the ingress wrote it.
        var handler = forwarder.Services.GetRequiredService<SentryForwarder>();
        var outcomes = new DeliveryOutcome[1];
        await handler.HandleAsync(
            [new Envelope
            {
                Topic = "sentry",
                Kind = SentryEnvelopeHeaders.EnvelopeKind,
                Key = SentryRig.Key,
                Headers = new Dictionary<string, string> { [SentryEnvelopeHeaders.Path] = "/api/42/envelope/", [SentryEnvelopeHeaders.Project] = "42" },
                Payload = Encoding.UTF8.GetBytes(SentryRig.Envelope(SentryRig.NewEventId())),
            }],
            outcomes,
            CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Retry, outcomes[0]);

        HttpResponseMessage? answer = null;
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            answer?.Dispose();
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={SentryRig.Key}", UriKind.Relative))
            {
                Content = new StringContent(SentryRig.Envelope(SentryRig.NewEventId())),
            };
            answer = await ingress.Client.SendAsync(request);
            return answer.StatusCode == HttpStatusCode.TooManyRequests;
        }));
        using (answer)
        {
            Assert.Matches("^(2[0-9]|30)::organization$", answer!.Headers.GetValues("X-Sentry-Rate-Limits").Single());
        }
    }
}

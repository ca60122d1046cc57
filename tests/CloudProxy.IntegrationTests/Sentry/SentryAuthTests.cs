using System.Net;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

public sealed class SentryAuthTests
{
    public static TheoryData<string> Sources => ["x-sentry-auth", "authorization-sentry", "authorization-basic", "query", "dsn"];

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task Each_auth_source_is_accepted_and_passed_on_in_the_same_form_with_the_upstreams_key(string source)
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = SentryRig.NewEventId();
        var query = source == "query" ? $"?sentry_key={SentryRig.Key}&sentry_version=7" : string.Empty;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/{query}", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(eventId, source == "dsn" ? rig.Dsn : null)),
        };
        switch (source)
        {
            case "x-sentry-auth":
                request.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());
                break;
            case "authorization-sentry":
                request.Headers.TryAddWithoutValidation("Authorization", SentryRig.XSentryAuth());
                break;
            case "authorization-basic":
                request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(SentryRig.Key + ":")));
                break;
        }

        using var response = await rig.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 1));
        var got = rig.B.Received.Single();
        switch (source)
        {
            case "x-sentry-auth":
                Assert.Equal(SentryRig.XSentryAuth(SentryRig.KeyB), got.Header("X-Sentry-Auth"));
                break;
            case "authorization-sentry":
                Assert.Equal(SentryRig.XSentryAuth(SentryRig.KeyB), got.Header("Authorization"));
                break;
            case "authorization-basic":
                Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(SentryRig.KeyB + ":")), got.Header("Authorization"));
                break;
            case "query":
                Assert.Equal($"?sentry_key={SentryRig.KeyB}&sentry_version=7", got.Query);
                break;
            case "dsn":
                Assert.Contains($"\"dsn\":\"http://{SentryRig.KeyB}@127.0.0.1:{rig.Host.BaseAddress.Port}/202\"", got.BodyText, StringComparison.Ordinal);
                break;
        }
    }

    [Fact]
    public async Task No_auth_is_refused_with_401_and_a_reason()
    {
        await using var rig = await SentryRig.StartAsync();

        using var response = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()), auth: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("missing authorization", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "auth_missing")));
        Assert.Equal(0, await rig.MetricAsync("ogre_put_to_queue_total"));
    }

    [Fact]
    public async Task Two_auth_sources_are_refused_with_401()
    {
        await using var rig = await SentryRig.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={SentryRig.Key}", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(SentryRig.NewEventId())),
        };
        request.Headers.TryAddWithoutValidation("X-Sentry-Auth", SentryRig.XSentryAuth());

        using var response = await rig.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("multiple authorization payloads", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "auth_multiple")));
    }

    [Fact]
    public async Task A_malformed_key_is_refused_with_401()
    {
        await using var rig = await SentryRig.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/42/envelope/?sentry_key=not-a-key", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(SentryRig.NewEventId())),
        };

        using var response = await rig.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "auth_invalid")));
    }

    [Fact]
    public async Task Keys_and_projects_off_the_allow_list_are_refused_with_403()
    {
        await using var rig = await SentryRig.StartAsync(
            "--CloudProxy:Sentry:Ingress:AllowedKeys:0=" + SentryRig.Key,
            "--CloudProxy:Sentry:Ingress:AllowedProjects:0=42");
        const string otherKey = "ffffffffffffffffffffffffffffffff";
        using var wrongKey = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={otherKey}", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(SentryRig.NewEventId())),
        };

        using var keyAnswer = await rig.Client.SendAsync(wrongKey);
        using var projectAnswer = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()), project: "43");
        using var ok = await rig.PostEnvelopeAsync(SentryRig.Envelope(SentryRig.NewEventId()));

        Assert.Equal(HttpStatusCode.Forbidden, keyAnswer.StatusCode);
        Assert.Contains("public key is not accepted", await keyAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, projectAnswer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "key_not_allowed")));
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "project_not_allowed")));
    }
}

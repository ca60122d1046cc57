using System.Net;
using System.Text.Json;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

public sealed class SentryDeliveryTests
{
    [Fact]
    public async Task Envelope_is_answered_with_its_event_id_and_reaches_each_upstream_with_its_own_key_and_project()
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = SentryRig.NewEventId();
        var body = SentryRig.Envelope(eventId, rig.Dsn);

        using var response = await rig.PostEnvelopeAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{{\"id\":\"{eventId}\"}}", await response.Content.ReadAsStringAsync());
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1 && rig.B.Received.Count == 1));
        foreach (var (sink, key, project) in new[] { (rig.A, SentryRig.KeyA, SentryRig.ProjectA), (rig.B, SentryRig.KeyB, SentryRig.ProjectB) })
        {
            var got = sink.Received.Single();
            Assert.Equal($"/api/{project}/envelope/", got.Path);
            Assert.Equal(SentryRig.XSentryAuth(key), got.Header("X-Sentry-Auth"));
            Assert.Equal("application/x-sentry-envelope", got.Header("Content-Type"));
            var lines = got.BodyText.Split('\n');
            using var header = JsonDocument.Parse(lines[0]);
            Assert.Equal(eventId, header.RootElement.GetProperty("event_id").GetString());
            Assert.Equal($"http://{key}@127.0.0.1:{rig.Host.BaseAddress.Port}/{project}", header.RootElement.GetProperty("dsn").GetString());
            Assert.Equal(string.Join('\n', body.Split('\n')[1..]), string.Join('\n', lines[1..]));
        }

        // The sink records a request before it answers: wait for the forwarder to count the answers.
        Assert.True(await Eventually.TrueAsync(async () => await rig.MetricAsync("cloudproxy_sentry_upstream_requests_total", ("outcome", "delivered")) == 2));
        Assert.Equal(1, await rig.MetricAsync("ogre_put_to_queue_total"));
        Assert.Equal(2, await rig.MetricAsync("ogre_sentry_request_total"));
        Assert.Equal(1, await rig.MetricAsync("ogre_req_count"));
        Assert.Equal(1, await rig.MetricAsync("cloudproxy_sentry_upstream_requests_total", ("upstream", "a"), ("outcome", "delivered")));
    }

    [Fact]
    public async Task Store_is_answered_with_the_payloads_event_id()
    {
        await using var rig = await SentryRig.StartAsync();
        var eventId = Guid.NewGuid();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/store/?sentry_key={SentryRig.Key}&sentry_version=7", UriKind.Relative))
        {
            Content = new StringContent($"{{\"event_id\":\"{eventId:D}\",\"message\":\"hi\"}}", System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await rig.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{{\"id\":\"{eventId:N}\"}}", await response.Content.ReadAsStringAsync());
        Assert.True(await Eventually.TrueAsync(() => rig.A.Received.Count == 1 && rig.B.Received.Count == 1));
        Assert.Equal("/api/202/store/", rig.B.Received.Single().Path);
        Assert.Contains($"sentry_key={SentryRig.KeyB}", rig.B.Received.Single().Query, StringComparison.Ordinal);
        Assert.Contains($"sentry_key={SentryRig.KeyA}", rig.A.Received.Single().Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minidump_is_answered_with_a_plain_id_and_attachment_with_201()
    {
        await using var rig = await SentryRig.StartAsync();
        using var dump = new MultipartFormDataContent { { new ByteArrayContent([0x4D, 0x44, 0x4D, 0x50, 1, 2, 3]), "upload_file_minidump", "crash.dmp" } };
        using var minidump = await rig.Client.PostAsync(new Uri($"/api/42/minidump/?sentry_key={SentryRig.Key}", UriKind.Relative), dump);
        var id = await minidump.Content.ReadAsStringAsync();

        using var attachment = await rig.Client.PostAsync(
            new Uri($"/api/42/events/{SentryRig.NewEventId()}/attachments/?sentry_key={SentryRig.Key}", UriKind.Relative),
            new ByteArrayContent([1, 2, 3]));

        Assert.Equal(HttpStatusCode.OK, minidump.StatusCode);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(HttpStatusCode.Created, attachment.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => rig.B.Received.Count == 2));
        Assert.Contains(rig.B.Received, r => r.Path == "/api/202/minidump/" && r.Header("Content-Type")!.StartsWith("multipart/form-data", StringComparison.Ordinal));
        Assert.Contains(rig.B.Received, r => r.Path.StartsWith("/api/202/events/", StringComparison.Ordinal) && r.Path.EndsWith("/attachments/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Browser_requests_get_Sentrys_CORS_answers()
    {
        await using var rig = await SentryRig.StartAsync();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/42/envelope/", UriKind.Relative));
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answer = await rig.Client.SendAsync(preflight);

        using var refused = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/42/envelope/", UriKind.Relative)) { Content = new StringContent("{}\n") };
        refused.Headers.Add("Origin", "https://app.example.com");
        using var error = await rig.Client.SendAsync(refused);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("x-sentry-auth", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Equal("*", error.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("retry-after", error.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        Assert.Contains("x-sentry-rate-limits", error.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_api_paths_pass_through_to_the_first_upstream()
    {
        await using var rig = await SentryRig.StartAsync();

        using var response = await rig.Client.GetAsync(new Uri($"/api/42/embed/error-page/?dsn=x&sentry_key={SentryRig.Key}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var got = Assert.Single(rig.A.Received);
        Assert.Equal("GET", got.Method);
        Assert.Equal("/api/101/embed/error-page/", got.Path);
        Assert.Contains($"sentry_key={SentryRig.KeyA}", got.Query, StringComparison.Ordinal);
        Assert.Empty(rig.B.Received);
    }

    [Fact]
    public async Task Ogre_status_fields_and_metric_names_are_served()
    {
        await using var rig = await SentryRig.StartAsync();
        using var status = JsonDocument.Parse(await rig.Client.GetStringAsync(new Uri("/_status", UriKind.Relative)));
        var metrics = await rig.Host.ScrapeMetricsAsync();

        foreach (var field in new[] { "author", "commit", "datetime", "status" })
        {
            Assert.True(status.RootElement.TryGetProperty(field, out _), field);
        }

        foreach (var name in new[] { "ogre_put_to_queue_total", "ogre_failed_put_to_queue_total", "ogre_sentry_request_total", "ogre_sentry_failed_request_total", "ogre_req_count" })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_an_upstream_events_are_refused_with_503_naming_the_setting()
    {
        await using var host = await RunningHost.StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/42/envelope/?sentry_key={SentryRig.Key}", UriKind.Relative))
        {
            Content = new StringContent(SentryRig.Envelope(SentryRig.NewEventId())),
        };
        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("--pusher.sentry.host", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await host.MetricAsync("cloudproxy_sentry_refusals_total", ("reason", "no_upstream")));
    }
}

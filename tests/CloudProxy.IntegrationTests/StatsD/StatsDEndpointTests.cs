using System.Net;
using System.Text.Json;
using CloudProxy.StatsD;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>Every endpoint and parameter, over real HTTP to the real host, checked at a real UDP listener.</summary>
public sealed class StatsDEndpointTests(DefaultStatsDHost host) : IClassFixture<DefaultStatsDHost>
{
    private static readonly string[] None = [];

    [Fact]
    public async Task Heartbeat_answers_OK()
    {
        var response = await host.Client.GetAsync(new Uri("/heartbeat", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OK", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Count_without_a_value_counts_one_with_the_prefix_and_answers_an_empty_200()
    {
        var response = await host.PostAsync("/count/c1.hits");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
        Assert.Equal(["app.c1.hits:1|c"], await host.LinesAsync("app.c1.", 1));
    }

    [Fact]
    public async Task Count_reads_value_and_sampleRate_from_a_form_body()
    {
        // sampleRate=1 is "send always": no rate on the line, as statsd-http-proxy.
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c2.a", DefaultStatsDHost.Form(("value", "-3"), ("sampleRate", "1")))).StatusCode);
        Assert.Equal(["app.c2.a:-3|c"], await host.LinesAsync("app.c2.", 1));
    }

    [Fact]
    public async Task Count_reads_parameters_from_the_query_string()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c3.a?value=5")).StatusCode);
        Assert.Equal(["app.c3.a:5|c"], await host.LinesAsync("app.c3.", 1));
    }

    [Fact]
    public async Task Body_parameter_wins_over_the_query_string()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c4.a?value=5", DefaultStatsDHost.Form(("value", "7")))).StatusCode);
        Assert.Equal(["app.c4.a:7|c"], await host.LinesAsync("app.c4.", 1));
    }

    [Fact]
    public async Task Count_reads_a_JSON_body()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c5.a", DefaultStatsDHost.Json("""{"value": 2.5, "tags": ["env:prod", "beta"]}"""))).StatusCode);
        Assert.Equal(["app.c5.a:2.5|c|#env:prod,beta"], await host.LinesAsync("app.c5.", 1));
    }

    [Fact]
    public async Task Form_string_sent_as_text_plain_like_fetch_does_is_read()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c6.a", DefaultStatsDHost.Text("value=4&sampleRate=1"))).StatusCode);
        Assert.Equal(["app.c6.a:4|c"], await host.LinesAsync("app.c6.", 1));
    }

    [Fact]
    public async Task Multipart_form_is_read()
    {
        using var form = new MultipartFormDataContent { { new StringContent("9"), "value" } };
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/count/c7.a", form)).StatusCode);
        Assert.Equal(["app.c7.a:9|c"], await host.LinesAsync("app.c7.", 1));
    }

    [Fact]
    public async Task Gauge_sets_a_value_and_a_negative_one_via_zero()
    {
        await host.PostAsync("/gauge/g1.a", DefaultStatsDHost.Form(("value", "42")));
        await host.PostAsync("/gauge/g1.b", DefaultStatsDHost.Form(("value", "-5")));
        await host.PostAsync("/gauge/g1.c");
        var lines = await host.LinesAsync("app.g1.", 4);
        Assert.Equal(["app.g1.a:42|g", "app.g1.b:0|g", "app.g1.b:-5|g", "app.g1.c:1|g"], lines);
    }

    [Fact]
    public async Task Gauge_shift_sends_a_signed_relative_change()
    {
        await host.PostAsync("/gauge/g2.a", DefaultStatsDHost.Form(("shift", "3")));
        await host.PostAsync("/gauge/g2.b?shift=-2");
        Assert.Equal(["app.g2.a:+3|g", "app.g2.b:-2|g"], await host.LinesAsync("app.g2.", 2));
    }

    [Fact]
    public async Task Timing_sends_the_time_in_milliseconds()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/timing/t1.load", DefaultStatsDHost.Form(("time", "320.5")))).StatusCode);
        Assert.Equal(["app.t1.load:320.5|ms"], await host.LinesAsync("app.t1.", 1));
    }

    [Fact]
    public async Task Timing_without_time_is_a_400_and_nothing_is_sent()
    {
        var response = await host.PostAsync("/timing/t2.load");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Time is missing\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.t2."));
    }

    [Fact]
    public async Task Set_sends_the_member_as_given()
    {
        await host.PostAsync("/set/s1.users", DefaultStatsDHost.Form(("value", "bob@example.com")));
        await host.PostAsync("/set/s1.ids");
        Assert.Equal(["app.s1.users:bob@example.com|s", "app.s1.ids:1|s"], await host.LinesAsync("app.s1.", 2));
    }

    [Theory]
    [InlineData("/count/v1.a", "value", "abc")]
    [InlineData("/count/v1.b", "value", "1,5")]
    [InlineData("/count/v1.c", "value", "NaN")]
    [InlineData("/gauge/v1.d", "value", "1e999")]
    [InlineData("/gauge/v1.e", "shift", "up")]
    [InlineData("/timing/v1.f", "time", "-1")]
    [InlineData("/timing/v1.g", "time", "12ms")]
    [InlineData("/set/v1.h", "value", "a|s")]
    [InlineData("/count/v1.i", "sampleRate", "0")]
    [InlineData("/count/v1.j", "sampleRate", "2")]
    [InlineData("/timing/v1.k", "sampleRate", "half")]
    public async Task Invalid_value_is_a_400_with_a_reason_and_nothing_is_sent(string path, string name, string value)
    {
        var content = DefaultStatsDHost.Form((name, value), name == "sampleRate" ? ("time", "1") : ("x", "y"));
        var response = await host.PostAsync(path, content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(await response.Content.ReadAsStringAsync()));
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.v1."));
    }

    [Theory]
    [InlineData("i1%3A1%7Cc")]
    [InlineData("i1%7Cc")]
    [InlineData("i1%400.5")]
    [InlineData("i1%23tag")]
    [InlineData("i1%0Aevil%3A1%7Cc")]
    [InlineData("i1%0Devil")]
    [InlineData("i1%09tab")]
    [InlineData("i1%1Besc")]
    [InlineData("i1%7Fdel")]
    [InlineData("i1%C2%85nel")]
    [InlineData("i1%E2%80%A8ls")]
    public async Task Key_that_could_inject_StatsD_syntax_is_a_400_and_nothing_is_sent(string encodedKey)
    {
        var response = await host.PostAsync("/count/" + encodedKey);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("key", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.i1"));
        Assert.DoesNotContain(host.Udp.Lines, l => l.Contains("evil", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("env:prod|c")]
    [InlineData("env:prod\nx:1|c")]
    [InlineData("a,,b")]
    [InlineData("a#b")]
    public async Task Tags_that_could_inject_StatsD_syntax_are_a_400(string tags)
    {
        var response = await host.PostAsync("/count/tg1.a", DefaultStatsDHost.Form(("tags", tags)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.tg1."));
    }

    [Fact]
    public async Task Unsupported_content_type_is_a_415()
    {
        var response = await host.PostAsync("/count/ct.a", DefaultStatsDHost.Text("<value>1</value>", "application/xml"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Malformed_JSON_is_a_400()
    {
        var response = await host.PostAsync("/count/mj.a", DefaultStatsDHost.Json("{\"value\": "));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("JSON", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GET_on_a_metric_route_is_405()
    {
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await host.Client.GetAsync(new Uri("/count/x", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task JSON_batch_sends_every_metric_in_one_go()
    {
        var body = """
            [
              {"type":"count","key":"b1.c","value":2},
              {"type":"gauge","key":"b1.g","value":7},
              {"type":"gauge","key":"b1.s","shift":-1},
              {"type":"timing","key":"b1.t","value":15},
              {"type":"set","key":"b1.u","value":"u1"},
              {"type":"c","key":"b1.d","tags":"env:ci"}
            ]
            """;
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/batch", DefaultStatsDHost.Json(body))).StatusCode);
        Assert.Equal(
            ["app.b1.c:2|c", "app.b1.g:7|g", "app.b1.s:-1|g", "app.b1.t:15|ms", "app.b1.u:u1|s", "app.b1.d:1|c|#env:ci"],
            await host.LinesAsync("app.b1.", 6));
    }

    [Fact]
    public async Task Text_batch_of_StatsD_lines_is_validated_and_sent()
    {
        var body = "b2.a:1|c\r\nb2.b:5|g|#env:ci\n\nb2.c:12|ms|@0.5\nb2.d:x|s\n";
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("/batch", DefaultStatsDHost.Text(body))).StatusCode);
        Assert.Equal(["app.b2.a:1|c", "app.b2.b:5|g|#env:ci", "app.b2.c:12|ms|@0.5", "app.b2.d:x|s"], await host.LinesAsync("app.b2.", 4));
    }

    [Fact]
    public async Task Batch_with_bad_entries_is_refused_whole_listing_index_and_reason()
    {
        var body = """
            [
              {"type":"count","key":"b3.ok"},
              {"type":"count","key":"b3.bad:1|c"},
              {"type":"histogram","key":"b3.h","value":1},
              {"type":"timing","key":"b3.t"}
            ]
            """;
        var response = await host.PostAsync("/batch", DefaultStatsDHost.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var invalid = json.RootElement.GetProperty("invalid").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], invalid.Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal(["invalid_key", "invalid_type", "missing_value"], invalid.Select(e => e.GetProperty("code").GetString()));
        Assert.StartsWith("3 of 4 metrics are invalid", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.b3."));
    }

    [Fact]
    public async Task Text_batch_with_an_injected_line_is_refused_whole()
    {
        var response = await host.PostAsync("/batch", DefaultStatsDHost.Text("b4.a:1|c\nb4.b:1|c|@0.5|x\n"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"index\":1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(None, await host.LinesAfterMarkerAsync("app.b4."));
    }

    [Theory]
    [InlineData("[]", "application/json")]
    [InlineData("\n\n", "text/plain")]
    [InlineData("{\"type\":\"count\"}", "application/json")]
    [InlineData("[{\"type\":", "application/json")]
    public async Task Empty_or_malformed_batch_is_a_400(string body, string mediaType)
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await host.PostAsync("/batch", DefaultStatsDHost.Text(body, mediaType))).StatusCode);
    }

    [Fact]
    public async Task Batch_of_another_media_type_is_a_415()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await host.PostAsync("/batch", DefaultStatsDHost.Text("a:1|c", "application/x-www-form-urlencoded"))).StatusCode);
    }

    [Fact]
    public async Task Refusals_and_requests_are_counted_in_metrics()
    {
        var before = await host.Host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "invalid_key"));
        var requestsBefore = await host.Host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "gauge"), ("outcome", "bad_request"));
        await host.PostAsync("/gauge/m1%7Cx");
        Assert.Equal(before + 1, await host.Host.MetricAsync(StatsDMetricNames.Refusals, ("reason", "invalid_key")));
        Assert.Equal(requestsBefore + 1, await host.Host.MetricAsync(StatsDMetricNames.Requests, ("endpoint", "gauge"), ("outcome", "bad_request")));

        var sentBefore = await host.Host.MetricAsync(StatsDMetricNames.LinesSent, ("protocol", "udp"));
        await host.PostAsync("/count/m1.ok");
        await host.LinesAsync("app.m1.ok", 1);
        Assert.True(await CloudProxy.Tests.Common.Eventually.TrueAsync(async () =>
            await host.Host.MetricAsync(StatsDMetricNames.LinesSent, ("protocol", "udp")) >= sentBefore + 1));
    }
}

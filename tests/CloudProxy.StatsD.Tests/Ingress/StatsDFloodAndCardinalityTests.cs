using System.Net;
using System.Text;
using System.Text.Json;
using CloudProxy.StatsD.Ingress;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace CloudProxy.StatsD.Tests.Ingress;

public sealed class StatsDFloodAndCardinalityTests : IDisposable
{
    private readonly UdpSink _udp = new();

    public void Dispose() => _udp.Dispose();

    private static StatsDCardinalityGuard Guard(TimeProvider time, int perPrefix = 0, int prefixes = 0, int perToken = 0, double window = 60)
    {
        var options = new StatsDOptions();
        options.Ingress.MaxNamesPerPrefix = perPrefix;
        options.Ingress.MaxPrefixes = prefixes;
        options.Ingress.MaxNamesPerToken = perToken;
        options.Ingress.CardinalityWindowSeconds = window;
        return new StatsDCardinalityGuard(Options.Create(options), time, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
    }

    private static ReadOnlySpan<byte> U(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Bucket_gives_the_burst_then_one_token_per_period_and_names_the_wait()
    {
        var time = new FakeTimeProvider();
        var limiter = new StatsDFloodLimiter<string>(perSecond: 2, burst: 3, time);
        Assert.True(limiter.TryTake("a", out _));
        Assert.True(limiter.TryTake("a", out _));
        Assert.True(limiter.TryTake("a", out _));
        Assert.False(limiter.TryTake("a", out var retry));
        Assert.Equal(1, retry);
        Assert.True(limiter.TryTake("b", out _)); // another key has its own bucket
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(limiter.TryTake("a", out _));
        Assert.False(limiter.TryTake("a", out _));
        time.Advance(TimeSpan.FromSeconds(10)); // refills to the burst, no more
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryTake("a", out _));
        }

        Assert.False(limiter.TryTake("a", out _));
    }

    [Fact]
    public void Slow_rate_tells_the_whole_seconds_until_the_next_token()
    {
        var limiter = new StatsDFloodLimiter<string>(perSecond: 0.1, burst: 0, new FakeTimeProvider());
        Assert.True(limiter.TryTake("a", out _));
        Assert.False(limiter.TryTake("a", out var retry));
        Assert.Equal(10, retry);
    }

    [Fact]
    public void Bucket_table_stays_bounded_by_forgetting_refilled_keys()
    {
        var time = new FakeTimeProvider();
        var limiter = new StatsDFloodLimiter<int>(perSecond: 1000, burst: 1, time);
        for (var i = 0; i < StatsDFloodLimiter<int>.MaxTracked; i++)
        {
            limiter.TryTake(i, out _);
        }

        time.Advance(TimeSpan.FromSeconds(1));
        limiter.TryTake(-1, out _);
        Assert.True(limiter.Count < 10, $"{limiter.Count} buckets kept");
    }

    [Fact]
    public void Names_past_the_limit_of_a_prefix_are_refused_known_names_still_pass_and_the_window_forgets()
    {
        var time = new FakeTimeProvider();
        var guard = Guard(time, perPrefix: 2);
        Assert.Null(guard.Admit(U("web.a"), null));
        Assert.Null(guard.Admit(U("web.b"), null));
        var refused = guard.Admit(U("web.c"), null);
        Assert.Equal(StatsDRefusal.TooManyNamesForPrefix, refused?.Refusal);
        Assert.Contains("MaxNamesPerPrefix is 2", refused?.Reason, StringComparison.Ordinal);
        Assert.Null(guard.Admit(U("web.a"), null));
        Assert.Null(guard.Admit(U("api.c"), null)); // another prefix
        Assert.Equal(StatsDRefusal.TooManyNamesForPrefix, guard.Admit(U("web"), null)?.Refusal); // "web" alone: a third name of prefix web
        Assert.Equal(60, guard.SecondsLeft());
        time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(15, guard.SecondsLeft());
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(guard.Admit(U("web.c"), null));
    }

    [Fact]
    public void Distinct_prefixes_and_names_per_token_have_their_own_limits()
    {
        var guard = Guard(new FakeTimeProvider(), prefixes: 2, perToken: 2);
        Assert.Null(guard.Admit(U("a.x"), "t1"));
        Assert.Null(guard.Admit(U("b.x"), "t1"));
        Assert.Equal(StatsDRefusal.TooManyPrefixes, guard.Admit(U("c.x"), "t2")?.Refusal);
        Assert.Equal(StatsDRefusal.TooManyNamesForToken, guard.Admit(U("a.y"), "t1")?.Refusal);
        Assert.Null(guard.Admit(U("a.y"), "t2"));

        // A name the token refused was not taken by its prefix either: t2 still has room for one more under 'a'.
        Assert.Null(guard.Admit(U("a.z"), "t2"));
    }

    [Fact]
    public async Task Client_flood_is_refused_with_429_Retry_After_and_counted_by_reason()
    {
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, null,
            ("CloudProxy:StatsD:Ingress:ClientRequestsPerSecond", "0.5"), ("CloudProxy:StatsD:Ingress:ClientBurst", "3"));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 5; i++)
        {
            last = await app.Client.PostAsync(new Uri($"/count/flood.{i}", UriKind.Relative), null);
            statuses.Add(last.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, (HttpStatusCode)429, (HttpStatusCode)429], statuses);
        Assert.Equal(TimeSpan.FromSeconds(2), last!.Headers.RetryAfter?.Delta);
        Assert.Contains("ClientRequestsPerSecond", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(await _udp.WaitForLinesAsync(3));
        await Task.Delay(200);
        Assert.Equal(["flood.0:1|c", "flood.1:1|c", "flood.2:1|c"], _udp.Lines);
        var text = await MetricsTextAsync(app);
        Assert.Equal(2, PrometheusText.Sum(text, StatsDMetricNames.Refusals, ("reason", "flood_client")));
        Assert.Equal(2, PrometheusText.Sum(text, StatsDMetricNames.Requests, ("endpoint", "count"), ("outcome", "too_many_requests")));
    }

    [Fact]
    public async Task Cardinality_guard_in_a_batch_sends_the_known_names_and_answers_which_it_refused()
    {
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, null,
            ("CloudProxy:StatsD:Ingress:MaxNamesPerPrefix", "2"), ("CloudProxy:StatsD:Ingress:MetricPrefix", "app"));
        var body = "page.a:1|c\npage.b:2|c\npage.user-8231:1|c\npage.a:3|c\nother.a:1|ms\n";
        var response = await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), new StringContent(body, Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(5, root.GetProperty("entries").GetInt32());
        Assert.Equal(4, root.GetProperty("accepted").GetInt32());
        Assert.Equal(1, root.GetProperty("refused").GetInt32());
        var refusal = Assert.Single(root.GetProperty("refusals").EnumerateArray().ToList());
        Assert.Equal("app.page.user-8231", refusal.GetProperty("key").GetString());
        Assert.Equal("cardinality_prefix", refusal.GetProperty("code").GetString());
        Assert.True(await _udp.WaitForLinesAsync(4));
        Assert.Equal(["app.page.a:1|c", "app.page.b:2|c", "app.page.a:3|c", "app.other.a:1|ms"], _udp.Lines);

        // A single metric with a new name under the full prefix: 429 until the window ends.
        var single = await app.Client.PostAsync(new Uri("/count/page.c", UriKind.Relative), null);
        Assert.Equal((HttpStatusCode)429, single.StatusCode);
        Assert.True(single.Headers.RetryAfter?.Delta > TimeSpan.FromSeconds(3000));

        // A batch of only refused names: 429 with the same JSON, nothing sent.
        var all = await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), new StringContent("page.d:1|c\npage.e:1|c", Encoding.UTF8, "text/plain"));
        Assert.Equal((HttpStatusCode)429, all.StatusCode);
        using var allJson = JsonDocument.Parse(await all.Content.ReadAsStringAsync());
        Assert.Equal(0, allJson.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(2, allJson.RootElement.GetProperty("refused").GetInt32());

        var text = await MetricsTextAsync(app);
        Assert.Equal(4, PrometheusText.Sum(text, StatsDMetricNames.LinesRefused, ("reason", "cardinality_prefix")));
        Assert.Equal(2, PrometheusText.Sum(text, StatsDMetricNames.DistinctNamesLargest, ("scope", "prefix")));
        Assert.Equal(3, PrometheusText.Sum(text, StatsDMetricNames.DistinctNames, ("scope", "prefix")));
        Assert.Equal(2, PrometheusText.Sum(text, StatsDMetricNames.DistinctPrefixes));
        await Task.Delay(200);
        Assert.Equal(4, _udp.Lines.Count);
    }

    [Fact]
    public async Task Successful_batch_answers_how_many_lines_were_accepted_and_sampled_out()
    {
        var draws = new Queue<double>([0.9]);
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, s => s.AddSingleton(new StatsDSampler(() => draws.Dequeue())));
        var body = """[{"type":"count","key":"a","sampleRate":0.5},{"type":"gauge","key":"g","value":-3}]""";
        var response = await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"entries":2,"accepted":2,"sampledOut":1,"refused":0,"refusals":[]}""", await response.Content.ReadAsStringAsync());
        Assert.True(await _udp.WaitForLinesAsync(2));
        Assert.Equal(["g:0|g", "g:-3|g"], _udp.Lines);
    }

    [Fact]
    public async Task Token_may_come_in_the_body_of_a_metric_or_a_batch_as_a_beacon_sends_it()
    {
        const string Secret = "beacon-secret";
        var token = TestTokens.Hs("HS256", Secret);
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, null, ("CloudProxy:StatsD:Ingress:JwtSecret", Secret));
        StringContent Text(string body) => new(body, Encoding.UTF8, "text/plain");

        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/count/m.form", UriKind.Relative), Text($"value=3&token={token}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), Text($"token={token}\r\nb.text:1|c\nb.text2:4|ms\n"))).StatusCode);
        var jsonBatch = new StringContent($$"""{"metrics":[{"type":"gauge","key":"b.json","value":7}],"token":"{{token}}"}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), jsonBatch)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), Text("b.none:1|c"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Client.PostAsync(new Uri("/count/m.none", UriKind.Relative), Text("value=1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), Text($"token={TestTokens.Hs("HS256", "wrong")}\nb.bad:1|c"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.Client.PostAsync(new Uri("/count/m.bad", UriKind.Relative), Text($"token={TestTokens.Hs("HS256", "wrong")}"))).StatusCode);
        var noMetrics = new StringContent($$"""{"token":"{{token}}"}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), noMetrics)).StatusCode);

        Assert.True(await _udp.WaitForLinesAsync(4));
        await Task.Delay(200);
        Assert.Equal(["m.form:3|c", "b.text:1|c", "b.text2:4|ms", "b.json:7|g"], _udp.Lines);
    }

    [Fact]
    public async Task Token_flood_limit_counts_each_token_on_its_own()
    {
        const string Secret = "flood-secret";
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, null,
            ("CloudProxy:StatsD:Ingress:JwtSecret", Secret), ("CloudProxy:StatsD:Ingress:TokenRequestsPerSecond", "0.01"), ("CloudProxy:StatsD:Ingress:TokenBurst", "2"));
        var one = TestTokens.Hs("HS256", Secret);
        var two = TestTokens.Hs("HS384", Secret);
        async Task<HttpResponseMessage> Post(string token) =>
            await app.Client.PostAsync(new Uri($"/count/t?token={token}", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, (await Post(one)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Post(one)).StatusCode);
        var refused = await Post(one);
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(100), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, (await Post(two)).StatusCode);
        var text = await MetricsTextAsync(app);
        Assert.Equal(1, PrometheusText.Sum(text, StatsDMetricNames.Refusals, ("reason", "flood_token")));
    }

    private static async Task<string> MetricsTextAsync(StatsDTestApp app)
    {
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

using System.Net;
using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Outbox;
using CloudProxy.StatsD.Ingress;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace CloudProxy.StatsD.Tests.Ingress;

public sealed class StatsDIngressTests : IDisposable
{
    private readonly UdpSink _udp = new();

    public void Dispose() => _udp.Dispose();

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    [Fact]
    public async Task Sampled_metric_is_sent_with_its_rate_when_the_draw_is_below_the_rate()
    {
        var draws = new Queue<double>([0.1, 0.9, 0.49]);
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, s => s.AddSingleton(new StatsDSampler(() => draws.Dequeue())));

        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/count/hits", UriKind.Relative), Form(("sampleRate", "0.5")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/count/hits", UriKind.Relative), Form(("sampleRate", "0.5")))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.PostAsync(new Uri("/timing/t", UriKind.Relative), Form(("time", "12"), ("sampleRate", "0.5")))).StatusCode);

        Assert.True(await _udp.WaitForLinesAsync(2));
        Assert.Equal(["hits:1|c|@0.5", "t:12|ms|@0.5"], _udp.Lines);
        var sampledOut = app.Services.GetRequiredService<StatsDIngressMetrics>().SampledOut.Value;
        Assert.Equal(1, sampledOut);
    }

    [Fact]
    public async Task Sampling_in_a_JSON_batch_skips_only_the_entries_whose_draw_missed()
    {
        var draws = new Queue<double>([0.7, 0.2]);
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, s => s.AddSingleton(new StatsDSampler(() => draws.Dequeue())));
        var body = """[{"type":"count","key":"a","sampleRate":0.5},{"type":"gauge","key":"g","value":3},{"type":"count","key":"b","sampleRate":0.5}]""";
        var response = await app.Client.PostAsync(new Uri("/batch", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await _udp.WaitForLinesAsync(2));
        Assert.Equal(["g:3|g", "b:1|c|@0.5"], _udp.Lines);
    }

    [Fact]
    public async Task Full_outbox_answers_503_with_Retry_After_and_counts_the_refusal()
    {
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, s => s.AddSingleton<IOutbox>(new FullOutbox()));
        var response = await app.Client.PostAsync(new Uri("/count/a", UriKind.Relative), Form(("value", "1")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        var registry = app.Services.GetRequiredService<CollectorRegistry>();
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.Equal(1, PrometheusText.Sum(text, StatsDMetricNames.Refusals, ("reason", "outbox_full")));
        Assert.Equal(1, PrometheusText.Sum(text, StatsDMetricNames.Requests, ("endpoint", "count"), ("outcome", "unavailable")));
        Assert.Empty(_udp.Datagrams);
    }

    [Fact]
    public async Task Ingress_hands_one_envelope_with_the_trace_context_to_the_outbox()
    {
        var outbox = new KeepingOutbox();
        await using var app = await StatsDTestApp.StartAsync(_udp.Port, s => s.AddSingleton<IOutbox>(outbox), ("CloudProxy:StatsD:Topic", "metrics"));
        // A raw request, so no HttpClient diagnostics handler can touch the traceparent header.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(app.Client.BaseAddress!.Host, app.Client.BaseAddress.Port);
        var stream = tcp.GetStream();
        const string body = "a:1|c\nb:2|g\n";
        var head = "POST /batch HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: " + body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + body));
        using var reader = new StreamReader(stream);
        Assert.StartsWith("HTTP/1.1 200", await reader.ReadLineAsync(), StringComparison.Ordinal);

        var envelope = Assert.Single(outbox.Envelopes);
        Assert.Equal("metrics", envelope.Topic);
        Assert.Equal("statsd.lines", envelope.Kind);
        Assert.Equal("a:1|c\nb:2|g\n", Encoding.UTF8.GetString(envelope.Payload.Span));
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", envelope.TraceParent, StringComparison.Ordinal);
    }

    private sealed class FullOutbox : IOutbox
    {
        public ValueTask<OutboxResult> EnqueueAsync(Envelope envelope) => ValueTask.FromResult(OutboxResult.Refused);
    }

    private sealed class KeepingOutbox : IOutbox
    {
        public List<Envelope> Envelopes { get; } = [];

        public ValueTask<OutboxResult> EnqueueAsync(Envelope envelope)
        {
            lock (Envelopes)
            {
                Envelopes.Add(envelope);
            }

            return ValueTask.FromResult(OutboxResult.Accepted);
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using CloudProxy.Tests.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.Telemetry;

/// <summary>With an OTLP endpoint set, spans are recorded and exported, continuing the caller's trace.</summary>
public class OtlpExportTests
{
    [Fact]
    public async Task Ingress_spans_reach_an_otlp_http_collector_with_the_callers_trace_id()
    {
        var bodies = new ConcurrentQueue<byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var collector = builder.Build();
        collector.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            bodies.Enqueue(buffer.ToArray());
            return Results.Ok();
        });
        await collector.StartAsync();
        var endpoint = collector.Urls.First();

        using var udp = new UdpSink();
        await using var host = await RunningHost.StartAsync(
        [
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_BSP_SCHEDULE_DELAY=100",
            "--statsd-port", udp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);

        const string traceId = "0af7651916cd43dd8448eb211c80319c";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/count/otel.metric", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent([new("value", "1")]),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-b7ad6b7169203331-01");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await udp.WaitForLinesAsync(1));

        // OTLP protobuf carries trace ids as 16 raw bytes.
        var idBytes = Convert.FromHexString(traceId);
        Assert.True(
            await Eventually.TrueAsync(() => bodies.Any(b => b.AsSpan().IndexOf(idBytes) >= 0), TimeSpan.FromSeconds(20)),
            $"no exported span carried trace {traceId} ({bodies.Count} exports)");
    }
}

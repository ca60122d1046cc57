using System.Collections.Concurrent;
using System.Net;
using System.Text;
using CloudProxy.Tests.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>With an OTLP endpoint, the proxy's step spans are exported in the caller's trace.</summary>
public sealed class ProxyTracingTests
{
    [Fact]
    public async Task Cache_rate_limit_and_backpressure_spans_reach_an_otlp_collector_in_the_callers_trace()
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
        await using var backend = await ProxyBackend.StartAsync();
        await using var proxy = await ProxyHost.StartAsync(backend.Address,
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={collector.Urls.First()}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_BSP_SCHEDULE_DELAY=100",
            "-requests-per-minute", "100", "--CloudProxy:ReverseProxy:Backpressure:Enabled=true");

        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/traced");
        request.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
        using var response = await proxy.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var id = Convert.FromHexString(TraceId);
        bool Exported(string span) => bodies.Any(b => b.AsSpan().IndexOf(id) >= 0 && b.AsSpan().IndexOf(Encoding.UTF8.GetBytes(span)) >= 0);
        Assert.True(await Eventually.TrueAsync(() => Exported("cache lookup") && Exported("rate limit") && Exported("backpressure wait"), TimeSpan.FromSeconds(20)),
            $"the proxy's spans were not exported in trace {TraceId} ({bodies.Count} exports)");
        Assert.Equal(TraceId, backend.LastHeaders!["traceparent"].ToString().Split('-')[1]);
    }
}

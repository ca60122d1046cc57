using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// Spreads bursts: a uniform random delay up to the configured bound before the back-end call, cancelled with
/// the request, skipped for requests marked critical. Randomness comes from DI so tests can fix it.
/// </summary>
internal sealed class ProxyJitterMiddleware(RequestDelegate next, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, Random random, TimeProvider time)
{
    private readonly ProxyJitterOptions _options = options.Value.Jitter;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "jitter spreads load; nothing depends on it being unpredictable")]
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (string.Equals(context.Request.Headers[_options.CriticalHeader], _options.CriticalValue, StringComparison.OrdinalIgnoreCase))
        {
            metrics.Jitter.WithLabels("critical").Inc();
        }
        else
        {
            metrics.Jitter.WithLabels("delayed").Inc();
            await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * _options.MaxDelayMs), time, context.RequestAborted);
        }

        await next(context);
    }
}

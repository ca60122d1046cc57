using System.Diagnostics;
using System.Globalization;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// Step of YARP's proxy pipeline, just before the back-end call: takes a slot in the congestion window
/// (waiting briefly), refuses with 503 (or 429) and Retry-After when none frees up, and reports the call's
/// outcome (the back end's own 429/503, its latency) back to the window.
/// </summary>
public sealed class ProxyBackpressureMiddleware(
    RequestDelegate next, ProxyCongestionWindow window, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, TimeProvider time)
{
    private readonly ProxyBackpressureOptions _options = options.Value.Backpressure;

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        bool admitted;
        using (var span = Tracing.ProxySpans.Start("backpressure wait"))
        {
            admitted = await window.AcquireAsync(TimeSpan.FromMilliseconds(_options.QueueTimeoutMs), time, context.RequestAborted);
            span?.SetTag("backpressure.window", window.Window);
            span?.SetTag("backpressure.admitted", admitted);
        }

        metrics.BackpressureInFlight.Set(window.InFlight);
        if (!admitted)
        {
            metrics.BackpressureBlocked.WithLabels(window.Throttled ? "signal" : "saturated").Inc();
            context.Response.StatusCode = _options.RefusalStatusCode;
            context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync($"back end is congested: {window.Window} requests in flight allowed, all taken\n", context.RequestAborted);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var outcome = CallOutcome.Failed;
        try
        {
            await next(context);
            outcome = Classify(context, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            if (window.Release(outcome))
            {
                metrics.BackpressureCuts.WithLabels(outcome == CallOutcome.Latency ? "latency" : "backend_status").Inc();
            }

            metrics.BackpressureWindow.Set(window.Window);
            metrics.BackpressureInFlight.Set(window.InFlight);
        }
    }

    private CallOutcome Classify(HttpContext context, TimeSpan elapsed)
    {
        // YARP's own errors (back end unreachable, timed out) carry an error feature; they are not the back end talking.
        if (context.Features.Get<IForwarderErrorFeature>() is not null)
        {
            return CallOutcome.Failed;
        }

        var status = context.Response.StatusCode;
        if (_options.BackendStatusSignal && status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            return CallOutcome.BackendStatus;
        }

        return _options.LatencyThresholdMs > 0 && elapsed.TotalMilliseconds > _options.LatencyThresholdMs ? CallOutcome.Latency : CallOutcome.Success;
    }
}

using System.Diagnostics;
using System.Globalization;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// Step of YARP's proxy pipeline, just before the back-end call: takes a slot in the congestion window by the
/// request's criticality (sheddable requests are refused at once when it is full, critical ones get freed slots
/// first), refuses with 503 (or 429) and Retry-After when none frees up, and reports the call's outcome (the
/// back end's own 429/503, its latency) back to the window.
/// </summary>
internal sealed class ProxyBackpressureMiddleware(
    RequestDelegate next, ProxyCongestionWindow window, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, TimeProvider time)
{
    private readonly ReverseProxyOptions _all = options.Value;
    private readonly ProxyBackpressureOptions _options = options.Value.Backpressure;

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = ProxyRouteSettings.For(context.GetReverseProxyFeature().Route.Config, _all);
        var criticality = ProxyCriticalityOf.For(context, route, _options.CriticalityHeader, out var unknown);
        if (unknown)
        {
            metrics.CriticalityUnknown.Inc();
        }

        bool admitted;
        using (var span = Tracing.ProxySpans.Start("backpressure wait"))
        {
            admitted = await window.AcquireAsync(TimeSpan.FromMilliseconds(_options.QueueTimeoutMs), time, context.RequestAborted, criticality);
            span?.SetTag("backpressure.window", window.Window);
            span?.SetTag("backpressure.criticality", ProxyCriticalityOf.Name(criticality));
            span?.SetTag("backpressure.admitted", admitted);
        }

        metrics.BackpressureInFlight.Set(window.InFlight);
        if (!admitted)
        {
            var shed = criticality == ProxyCriticality.Sheddable && _options.QueueTimeoutMs > 0;
            var cause = shed ? "shed" : window.Throttled ? "signal" : "saturated";
            metrics.BackpressureBlocked.WithLabels(cause, ProxyCriticalityOf.Name(criticality)).Inc();
            context.Response.StatusCode = _options.RefusalStatusCode;
            context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(shed
                ? $"back end is congested: all {window.Window} slots taken, sheddable requests are refused first\n"
                : $"back end is congested: {window.Window} requests in flight allowed, all taken\n", context.RequestAborted);
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

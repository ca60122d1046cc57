using System.Diagnostics;
using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Observability;

/// <summary>Counts every request the proxy answers and times it, by route id, method and status class.</summary>
internal sealed class ProxyRequestMetricsMiddleware(RequestDelegate next, ProxyMetrics metrics)
{
    // Labelled children looked up once per (route, method, status class), not per request.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, string), (Prometheus.Counter.Child, Prometheus.Histogram.Child)> _children = new();

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = ProxyRouteSettings.RouteIdOf(context);
            var method = MethodLabel(context.Request.Method);
            var statusClass = StatusClass(context.Response.StatusCode);
            var (count, duration) = _children.GetOrAdd((route, method, statusClass), k =>
                (metrics.Requests.WithLabels(k.Item1, k.Item2, k.Item3), metrics.RequestDuration.WithLabels(k.Item1, k.Item2, k.Item3)));
            count.Inc();
            duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Known methods by name, anything else as <c>OTHER</c>, so a client cannot mint label values.</summary>
    internal static string MethodLabel(string method) => method switch
    {
        _ when HttpMethods.IsGet(method) => "GET",
        _ when HttpMethods.IsHead(method) => "HEAD",
        _ when HttpMethods.IsPost(method) => "POST",
        _ when HttpMethods.IsPut(method) => "PUT",
        _ when HttpMethods.IsDelete(method) => "DELETE",
        _ when HttpMethods.IsPatch(method) => "PATCH",
        _ when HttpMethods.IsOptions(method) => "OPTIONS",
        _ => "OTHER",
    };

    internal static string StatusClass(int status) => status switch
    {
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };
}

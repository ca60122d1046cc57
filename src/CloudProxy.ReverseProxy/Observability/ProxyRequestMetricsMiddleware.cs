using System.Diagnostics;
using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Observability;

/// <summary>Counts every request the proxy answers and times it, by route id, method and status class.</summary>
public sealed class ProxyRequestMetricsMiddleware(RequestDelegate next, ProxyMetrics metrics)
{
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
            metrics.Requests.WithLabels(route, method, statusClass).Inc();
            metrics.RequestDuration.WithLabels(route, method, statusClass).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
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

using System.Collections.Concurrent;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// stale-while-revalidate's background refresh: one per key at a time in this process (a stale hit while one
/// runs just serves stale), at most <c>Cache:RefreshConcurrency</c> at once, each a request of the proxy's own
/// that goes through the rest of the proxy pipeline (backpressure as a sheddable request, load balancing,
/// health, YARP's forwarder and transforms) on a copy of the triggering request, never on the client's
/// <see cref="HttpContext"/> (it is recycled once the client's response ends).
/// </summary>
internal sealed partial class ProxyCacheRefresher(
    ProxyCacheFill fill, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options, IServiceProvider services, ILogger<ProxyCacheRefresher> logger)
    : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ReverseProxyOptions _options = options.Value;

    public int Running => _running.Count;

    /// <summary>Starts a refresh of <paramref name="key"/> unless one runs already or too many do; returns whether it started.</summary>
    public bool TryStart(HttpContext context, RequestDelegate next, ProxyRouteSettings route, string key, ProxyCachedResponse stale)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_stopping.IsCancellationRequested || _running.ContainsKey(key))
        {
            metrics.CacheRevalidations.WithLabels("background", "collapsed").Inc();
            return false;
        }

        if (_running.Count >= _options.Cache.RefreshConcurrency)
        {
            metrics.CacheRevalidations.WithLabels("background", "skipped").Inc();
            return false;
        }

        var copy = Copy(context);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_running.TryAdd(key, gate.Task))
        {
            metrics.CacheRevalidations.WithLabels("background", "collapsed").Inc();
            return false;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshAsync(copy, next, route, key, stale);
            }
            finally
            {
                _running.TryRemove(new KeyValuePair<string, Task>(key, gate.Task));
                gate.TrySetResult();
            }
        });
        return true;
    }

    private async Task RefreshAsync(DefaultHttpContext copy, RequestDelegate next, ProxyRouteSettings route, string key, ProxyCachedResponse stale)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.BackendTimeoutSeconds));
        copy.RequestAborted = timeout.Token;
        try
        {
            var (result, _) = await fill.RunAsync(copy, next, route, key, stale);
            var label = result switch
            {
                FillResult.NotModified => "not_modified",
                FillResult.ServeStale => "error",
                _ => copy.Response.StatusCode >= 500 ? "error" : "modified",
            };
            metrics.CacheRevalidations.WithLabels("background", label).Inc();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failed refresh leaves the stale entry as it was; the next stale hit tries again.
            metrics.CacheRevalidations.WithLabels("background", "error").Inc();
            Log.RefreshFailed(logger, route.RouteId, ex);
        }
    }

    /// <summary>A request of the proxy's own with the client's method, URL, headers and peer, for the same route and cluster.</summary>
    private DefaultHttpContext Copy(HttpContext context)
    {
        var request = context.Request;
        var copy = new DefaultHttpContext();
        copy.RequestServices = services;
        var target = copy.Request;
        target.Method = HttpMethods.Get;
        target.Scheme = request.Scheme;
        target.Host = request.Host;
        target.PathBase = request.PathBase;
        target.Path = request.Path;
        target.QueryString = request.QueryString;
        target.Protocol = "HTTP/1.1";
        foreach (var (name, values) in request.Headers)
        {
            target.Headers[name] = values;
        }

        // The client's own preconditions and ranges are the client's business, not the refresh's.
        foreach (var name in (string[])[.. ProxyConditional.RequestHeaders, "If-Range", "Range", "If-Match", "If-Unmodified-Since"])
        {
            target.Headers.Remove(name);
        }

        copy.Features.Get<IHttpRequestFeature>()!.RawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        copy.Connection.RemoteIpAddress = context.Connection.RemoteIpAddress;
        copy.Connection.RemotePort = context.Connection.RemotePort;
        copy.Connection.LocalIpAddress = context.Connection.LocalIpAddress;
        copy.Connection.LocalPort = context.Connection.LocalPort;
        copy.SetEndpoint(context.GetEndpoint());
        var feature = context.GetReverseProxyFeature();
        var cluster = feature.Route.Cluster!;
        copy.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
        {
            Route = feature.Route,
            Cluster = cluster.Model,
            AllDestinations = cluster.DestinationsState.AllDestinations,
            AvailableDestinations = cluster.DestinationsState.AvailableDestinations,
        });
        copy.Response.Body = Stream.Null;
        ProxyBackgroundRequest.Mark(copy);
        return copy;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_running.Values).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.CacheRefreshFailed, Level = LogLevel.Warning, Message = "Background cache refresh for route {Route} failed; the stale entry stays")]
        public static partial void RefreshFailed(ILogger logger, string route, Exception exception);
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>
/// A back end that reflects what a careless application would: it echoes the request's Cookie and the
/// headers cache-poisoning probes use (X-Host, X-Original-URL…) into a response the query makes cacheable
/// (<c>cc</c> = Cache-Control). It records every request's raw target, headers and body length, so a
/// corpus case can check what really arrived.
/// </summary>
internal sealed class HostileBackend : IAsyncDisposable
{
    private static readonly string[] Reflected =
        ["Cookie", "X-Original-URL", "X-Rewrite-URL", "X-Host", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-HTTP-Method-Override"];

    private readonly WebApplication _app;
    private int _calls;

    private HostileBackend(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<(string Target, IReadOnlyDictionary<string, string> Headers, long BodyBytes)> Requests { get; } = new();

    public static async Task<HostileBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var backend = new HostileBackend(app);
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        backend.Address = new Uri(app.Urls.First());
        return backend;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        long bodyBytes = 0;
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            bodyBytes += read;
        }

        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path + request.QueryString;
        Requests.Enqueue((target, request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), bodyBytes));
        var call = Interlocked.Increment(ref _calls);
        var response = context.Response;
        if (request.Query["cc"].Count > 0)
        {
            response.Headers.CacheControl = request.Query["cc"].ToString();
        }

        if (request.Query["setcookie"] == "1")
        {
            response.Headers.SetCookie = "session=from-backend; Path=/";
        }

        var echo = string.Join(' ', Reflected.Where(h => request.Headers.ContainsKey(h)).Select(h => $"{h}={request.Headers[h]}"));
        response.ContentType = "text/plain";
        await response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"call {call} {request.Method} {target} body={bodyBytes} {echo}\n"), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

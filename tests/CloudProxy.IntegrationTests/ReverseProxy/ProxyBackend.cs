using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.ReverseProxy;

/// <summary>
/// A real back end on 127.0.0.1 (Kestrel, port 0). It counts the calls per path and query, remembers the last
/// request's headers, and shapes its response from the query string: <c>cc</c> (Cache-Control), <c>vary</c>,
/// <c>cookie=1</c> (Set-Cookie), <c>status</c>, <c>bytes</c> (body size), <c>ms</c> (delay), <c>hang=1</c>, <c>size=1</c> (answers the request body's length),
/// <c>gate=1</c> (holds the answer until the test calls <see cref="OpenGate"/>), <c>etag</c> (ETag <c>"value"</c>, or <c>auto</c>: a new one per call)
/// and <c>lm=1</c> (a fixed Last-Modified), each answering a matching If-None-Match / If-Modified-Since with 304 (whose Cache-Control is
/// <c>cc304</c> when given); <c>tags</c> and <c>ctags</c> (Surrogate-Key, Cache-Tag). Every answer says its call number in <c>X-Backend-Call</c>; <see cref="FailWith"/> makes every call fail.
/// The body names the call number, so a test can tell a cached answer from a fresh one; <see cref="Arrivals"/> keeps the order calls came in.
/// </summary>
public sealed class ProxyBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _arrivals = new();
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _total;
    private int _notModified;

    private ProxyBackend(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public IHeaderDictionary? LastHeaders { get; private set; }

    public int Total => Volatile.Read(ref _total);

    /// <summary>304s answered to conditional requests.</summary>
    public int NotModifiedSent => Volatile.Read(ref _notModified);

    /// <summary>When set, every call is answered with this status and the body <c>failing</c>.</summary>
    public int? FailWith { get; set; }

    public const string LastModified = "Wed, 01 Jan 2025 00:00:00 GMT";

    public int CallsTo(string pathAndQuery) => _calls.TryGetValue(pathAndQuery, out var n) ? n : 0;

    /// <summary>Path and query of every call, in the order they arrived.</summary>
    public IReadOnlyList<string> Arrivals => [.. _arrivals];

    /// <summary>Lets every call held by <c>gate=1</c> answer (and later ones pass at once).</summary>
    public void OpenGate() => _gate.TrySetResult();

    public static async Task<ProxyBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var backend = new ProxyBackend(app);
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        backend.Address = new Uri(app.Urls.First());
        return backend;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var key = request.Path + request.QueryString;
        var call = _calls.AddOrUpdate(key, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _total);
        _arrivals.Enqueue(key);
        LastHeaders = new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        var q = request.Query;
        if (q["hang"] == "1")
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }

        if (q["gate"] == "1")
        {
            await _gate.Task.WaitAsync(context.RequestAborted);
        }

        if (int.TryParse(q["ms"], CultureInfo.InvariantCulture, out var ms))
        {
            await Task.Delay(ms, context.RequestAborted);
        }

        var response = context.Response;
        response.Headers["X-Backend-Call"] = call.ToString(CultureInfo.InvariantCulture);
        if (FailWith is { } failure)
        {
            response.StatusCode = failure;
            await response.WriteAsync("failing", context.RequestAborted);
            return;
        }

        var etag = q["etag"] == "auto" ? $"\"v{call}\"" : q["etag"].Count > 0 ? $"\"{q["etag"]}\"" : null;
        if (etag is not null)
        {
            response.Headers.ETag = etag;
        }

        if (q["lm"] == "1")
        {
            response.Headers.LastModified = LastModified;
        }

        var matches = etag is not null && request.Headers.IfNoneMatch.Any(v => v?.Contains(etag, StringComparison.Ordinal) == true);
        var unmodified = q["lm"] == "1" && request.Headers.IfNoneMatch.Count == 0 && request.Headers.IfModifiedSince == LastModified;
        if (matches || unmodified)
        {
            Interlocked.Increment(ref _notModified);
            response.StatusCode = StatusCodes.Status304NotModified;
            response.Headers.CacheControl = q["cc304"].Count > 0 ? q["cc304"].ToString() : q["cc"].ToString();
            return;
        }

        response.StatusCode = int.TryParse(q["status"], CultureInfo.InvariantCulture, out var status) ? status : 200;
        if (q["cc"].Count > 0)
        {
            response.Headers.CacheControl = q["cc"].ToString();
        }

        if (q["vary"].Count > 0)
        {
            response.Headers.Vary = q["vary"].ToString();
        }

        if (q["tags"].Count > 0)
        {
            response.Headers["Surrogate-Key"] = q["tags"].ToString();
        }

        if (q["ctags"].Count > 0)
        {
            response.Headers["Cache-Tag"] = q["ctags"].ToString();
        }

        if (q["cookie"] == "1")
        {
            response.Headers.SetCookie = "session=abc; Path=/";
        }

        var body = $"call {call} of {key} lang={request.Headers.AcceptLanguage}\n";
        if (q["size"] == "1")
        {
            // Counts the request body as it streams in.
            long total = 0;
            var buffer = new byte[81920];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
            }

            body = total.ToString(CultureInfo.InvariantCulture);
        }

        if (int.TryParse(q["bytes"], CultureInfo.InvariantCulture, out var bytes))
        {
            body = new string('x', bytes);
        }

        response.ContentType = "text/plain";
        await response.WriteAsync(body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

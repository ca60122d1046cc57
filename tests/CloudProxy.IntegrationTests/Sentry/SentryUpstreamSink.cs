using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>One request as the upstream received it: <see cref="Body"/> decoded as Sentry decodes it, <see cref="WireBody"/> as it came.</summary>
public sealed record SentryRecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, byte[] WireBody)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A real Kestrel server on 127.0.0.1 standing in for an upstream Sentry: records every request (path,
/// query, headers, body) and answers as told (status, headers, delay); 200 <c>{"id":…}</c> by default. It
/// can be stopped and started again on the same port, to simulate an outage. Like Sentry (Relay's
/// request decompression layer, tower-http's: gzip, deflate, br; an empty or <c>UTF-8</c> encoding is
/// ignored) it decodes a <c>Content-Encoding</c> body, answers 400 when it does not decode and 415 for an
/// encoding it does not know.
/// </summary>
public sealed class SentryUpstreamSink : IAsyncDisposable
{
    private readonly ConcurrentQueue<SentryRecordedRequest> _received = new();
    private WebApplication? _app;
    private int _attempts;

    private SentryUpstreamSink(int port) => Port = port;

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    public IReadOnlyCollection<SentryRecordedRequest> Received => _received;

    /// <summary>Every request that reached the server, whatever it was answered.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Decides the answer to each request; null means 200 with the default body.</summary>
    public Func<HttpContext, (int Status, IDictionary<string, string>? Headers)?>? Responder { get; set; }

    public TimeSpan Delay { get; set; }

    public static async Task<SentryUpstreamSink> StartAsync(int port = 0)
    {
        var sink = new SentryUpstreamSink(port);
        await sink.StartAgainAsync();
        return sink;
    }

    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>The requests whose body contains <paramref name="text"/>.</summary>
    public int CountContaining(string text) => _received.Count(r => r.BodyText.Contains(text, StringComparison.Ordinal));

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _attempts);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }

        var wire = body.ToArray();
        var encoding = context.Request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        byte[] decoded;
        try
        {
            decoded = Decode(encoding, wire);
        }
        catch (InvalidDataException)
        {
            context.Response.StatusCode = 400;
            return;
        }
        catch (NotSupportedException)
        {
            context.Response.StatusCode = 415;
            return;
        }

        var answer = Responder?.Invoke(context);
        var status = answer?.Status ?? 200;
        if (status is >= 200 and < 300)
        {
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            _received.Enqueue(new SentryRecordedRequest(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.QueryString.Value ?? string.Empty, headers, decoded, wire));
        }

        context.Response.StatusCode = status;
        foreach (var (name, value) in answer?.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        if (status == 200)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"id\":\"00000000000000000000000000000000\"}");
        }
    }

    private static byte[] Decode(string encoding, byte[] wire)
    {
        if (encoding is "" or "identity" or "utf-8")
        {
            return wire;
        }

        using var input = new MemoryStream(wire);
        using Stream decoder = encoding switch
        {
            "gzip" or "x-gzip" => new GZipStream(input, CompressionMode.Decompress),
            "deflate" => new ZLibStream(input, CompressionMode.Decompress),
            "br" => new BrotliStream(input, CompressionMode.Decompress),
            _ => throw new NotSupportedException(encoding),
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }
}

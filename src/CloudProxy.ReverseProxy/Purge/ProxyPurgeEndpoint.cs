using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy.Purge;

/// <summary>
/// Purging on the proxy's own listener, before routing (so no route can shadow it), behind
/// <c>Authorization: Bearer &lt;Purge:Token&gt;</c>:
/// <c>POST {Purge:Path}</c> with <c>{"urls":[…],"prefixes":[…],"tags":[…]}</c> (Cloudflare's shape), and the
/// <c>PURGE</c> method on any URL (Varnish's and Squid's) for that URL. Effective here at once, on replicas
/// sharing the store within <c>Purge:SyncIntervalMs</c>. Without a token neither exists (requests pass on).
/// </summary>
internal sealed class ProxyPurgeEndpoint(RequestDelegate next, ProxyPurgeLog log, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options)
{
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxItems = 1000;

    private readonly ProxyPurgeOptions _options = options.Value.Purge;
    private readonly byte[]? _token = string.IsNullOrEmpty(options.Value.Purge.Token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Purge.Token));

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var isPurgeMethod = string.Equals(request.Method, "PURGE", StringComparison.OrdinalIgnoreCase);
        if (_token is null || (!isPurgeMethod && !string.Equals(request.Path.Value, _options.Path, StringComparison.Ordinal)))
        {
            await next(context);
            return;
        }

        if (!Authorized(request))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "token", "purge token missing or wrong (Authorization: Bearer <CloudProxy:ReverseProxy:Purge:Token>)");
            return;
        }

        List<(ProxyPurgeKind, string)> purges;
        if (isPurgeMethod)
        {
            // The request's own URL, as the entry for it was keyed (Kestrel decoded it already).
            purges = [(ProxyPurgeKind.Url, Cache.ProxyCacheKey.PurgeUrl(request))];
        }
        else if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, "method", $"{_options.Path} takes POST (or use the PURGE method on the URL itself)");
            return;
        }
        else
        {
            var (parsed, status, problem) = await ReadAsync(request, context.RequestAborted);
            if (parsed is null)
            {
                await RefuseAsync(context, status, status == StatusCodes.Status413PayloadTooLarge ? "too_large" : "bad_request", problem!);
                return;
            }

            purges = parsed;
        }

        var written = await log.PublishAsync(purges, context.RequestAborted);

        // 202 when the shared log could not be written yet: purged here, and written again at the next sync.
        context.Response.StatusCode = written ? StatusCodes.Status200OK : StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["urls"] = purges.Count(p => p.Item1 == ProxyPurgeKind.Url),
            ["prefixes"] = purges.Count(p => p.Item1 == ProxyPurgeKind.Prefix),
            ["tags"] = purges.Count(p => p.Item1 == ProxyPurgeKind.Tag),
            ["replicas"] = !log.Shared ? "this one (no shared store)" : written ? "all sharing the store" : "this one now, the others once the store answers",
        }), context.RequestAborted);
    }

    private bool Authorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _token);
    }

    /// <summary>The body's purges, or the status and reason it is refused with.</summary>
    private static async Task<(List<(ProxyPurgeKind, string)>? Purges, int Status, string? Problem)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, StatusCodes.Status413PayloadTooLarge, $"a purge body is at most {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, StatusCodes.Status413PayloadTooLarge, $"a purge body is at most {MaxBodyBytes} bytes");
            }

            await buffer.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException ex)
        {
            return (null, StatusCodes.Status400BadRequest, $"the body is not JSON: {ex.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, StatusCodes.Status400BadRequest, "the body is a JSON object: {\"urls\":[…],\"prefixes\":[…],\"tags\":[…]}");
            }

            var purges = new List<(ProxyPurgeKind, string)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                ProxyPurgeKind kind;
                switch (property.Name)
                {
                    case "urls": kind = ProxyPurgeKind.Url; break;
                    case "prefixes": kind = ProxyPurgeKind.Prefix; break;
                    case "tags": kind = ProxyPurgeKind.Tag; break;
                    default: return (null, StatusCodes.Status400BadRequest, $"unknown field '{property.Name}' (urls, prefixes, tags)");
                }

                if (property.Value.ValueKind != JsonValueKind.Array)
                {
                    return (null, StatusCodes.Status400BadRequest, $"{property.Name} is a list of strings");
                }

                foreach (var item in property.Value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        return (null, StatusCodes.Status400BadRequest, $"{property.Name} is a list of strings");
                    }

                    var text = item.GetString()!;
                    string? problem;
                    var value = kind switch
                    {
                        ProxyPurgeKind.Url => ProxyPurgeTarget.Url(text, out problem),
                        ProxyPurgeKind.Prefix => ProxyPurgeTarget.Prefix(text, out problem),
                        _ => ProxyPurgeTarget.Tag(text, out problem),
                    };
                    if (value is null)
                    {
                        return (null, StatusCodes.Status400BadRequest, $"{property.Name}: '{Printable(text)}': {problem}");
                    }

                    purges.Add((kind, value));
                }
            }

            return purges.Count switch
            {
                0 => (null, StatusCodes.Status400BadRequest, "nothing to purge: give urls, prefixes or tags"),
                > MaxItems => (null, StatusCodes.Status400BadRequest, $"at most {MaxItems} purges per request (got {purges.Count})"),
                _ => (purges, StatusCodes.Status200OK, null),
            };
        }
    }

    private async Task RefuseAsync(HttpContext context, int status, string reason, string message)
    {
        metrics.PurgeRefused.WithLabels(reason).Inc();
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    private static string Printable(string text) =>
        new(text.Take(100).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}

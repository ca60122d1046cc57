using System.Text;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// First step of the proxy pipeline: removes the request headers of <see cref="ReverseProxyOptions.StripRequestHeaders"/>
/// (counted per header), so neither the cache nor the back end sees them.
/// </summary>
internal sealed class ProxyHeaderStripMiddleware(RequestDelegate next, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options)
{
    private readonly string[] _names = (options.Value.StripRequestHeaders ?? string.Empty)
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Request.Headers;
        foreach (var name in _names)
        {
            if (headers.Remove(name))
            {
                metrics.HeadersStripped.WithLabels(name.ToLowerInvariant()).Inc();
            }
        }

        return next(context);
    }
}

/// <summary>
/// Forwards the path as the client sent it. Kestrel decodes every escape of the path but <c>%2F</c>, and YARP
/// re-encodes the decoded path, so <c>/a%2Fb</c> reached the back end as <c>/a%252Fb</c>. When the raw target
/// decodes to exactly the path the route matched (no dot segments were resolved) and no route transform
/// changed the path, the raw path is what goes to the back end; otherwise YARP's own encoding applies.
/// </summary>
internal static class ProxyRawPath
{
    /// <summary>Adds the transform to every route that has no transforms of its own.</summary>
    public static void Add(TransformBuilderContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Route.Transforms is { Count: > 0 })
        {
            return;
        }

        context.AddRequestTransform(transform =>
        {
            var request = transform.HttpContext.Request;
            if (transform.Path == request.Path && Of(transform.HttpContext) is { } raw)
            {
                var prefix = transform.DestinationPrefix.AsSpan().TrimEnd('/');
                transform.ProxyRequest.RequestUri = new Uri(string.Concat(prefix, raw, request.QueryString.Value), UriKind.Absolute);
            }

            return ValueTask.CompletedTask;
        });
    }

    /// <summary>The raw path of the request when it holds an encoded slash and is otherwise the matched path; else null.</summary>
    public static string? Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            return null;
        }

        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        if (!path.Contains("%2F", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var request = context.Request;
        return DecodeKeepingSlashes(path) == request.PathBase.Value + request.Path.Value ? path : null;
    }

    /// <summary>What Kestrel makes of a raw path before dot segments: every escape decoded (UTF-8) but <c>%2F</c>.</summary>
    internal static string? DecodeKeepingSlashes(string path)
    {
        var bytes = new List<byte>(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && char.IsAsciiHexDigit(path[i + 1]) && char.IsAsciiHexDigit(path[i + 2])
                && !(path[i + 1] == '2' && (path[i + 2] | 0x20) == 'f'))
            {
                bytes.Add(Convert.ToByte(path.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (path[i] < 0x80)
            {
                bytes.Add((byte)path[i]);
            }
            else
            {
                return null;
            }
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. bytes]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}

using CloudProxy.Core.Logging;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// Any other <c>/api/…</c> request (Unreal crash reports, user feedback forms, unknown future endpoints) is passed
/// straight through to the FIRST upstream and its answer returned, with that upstream's key and project
/// mapping applied. Not buffered: these are not events, and the client wants the upstream's answer. Before
/// anything is forwarded the path must be canonical (no empty segment, no encoded slash: otherwise
/// <c>/api/42//envelope/</c> would dodge the ingestion route and its checks), must not be an ingestion route
/// with something after it, must be one <see cref="SentryPassthroughMode"/> allows, and passes the same
/// <see cref="SentryAdmission"/> (key, allow-lists, quotas) as the ingestion routes; the key of
/// <c>/api/{project}/unreal/{key}/</c> is read from the path.
/// </summary>
internal sealed partial class SentryPassthrough
{
    public const string ClientName = "sentry-passthrough";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Host", "Content-Length",
    };

    // The buffered routes' names after the project id (SentryIngressEndpoints): with anything after them they are no Sentry path.
    private static readonly HashSet<string> IngestionNames = new(
        SentryIngressEndpoints.Buffered.SelectMany(e => e.Routes)
            .Where(r => r.Path.StartsWith("/{project}/", StringComparison.Ordinal))
            .Select(r => r.Path.Split('/')[2]),
        StringComparer.OrdinalIgnoreCase);

    private readonly SentryUpstream? _upstream;
    private readonly IHttpClientFactory _clients;
    private readonly SentryReplies _replies;
    private readonly SentryIngressMetrics _metrics;
    private readonly SentryAdmission _admission;
    private readonly SentryPassthroughMode _mode;
    private readonly ILogger<SentryPassthrough> _logger;
    private readonly LogThrottle _failedLog = new();

    public SentryPassthrough(IOptions<SentryOptions> options, IHttpClientFactory clients, SentryReplies replies, SentryIngressMetrics metrics,
        SentryAdmission admission, ILogger<SentryPassthrough> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _upstream = SentryUpstream.Resolve(options.Value.Forwarder, []).FirstOrDefault();
        _mode = options.Value.Ingress.Passthrough;
        _clients = clients;
        _replies = replies;
        _metrics = metrics;
        _admission = admission;
        _logger = logger;
    }

    public async Task ForwardAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _metrics.OgreReqCount.Inc();
        SentryReplies.ApplyCors(context);
        var request = context.Request;
        var rawPath = request.Path.Value ?? "/";
        if (Screen(rawPath, out var project, out var pathKey) is { } screened)
        {
            await Refuse(context, screened.Refusal, screened.Reason);
            return;
        }

        if (_upstream is null)
        {
            await Refuse(context, SentryRefusal.NoUpstream, "no upstream Sentry is configured for pass-through requests");
            return;
        }

        if (!SentryAuthReader.TryRead(request, out var auth, out var authError))
        {
            await Refuse(context, authError!.StartsWith("multiple", StringComparison.Ordinal) ? SentryRefusal.AuthMultiple : SentryRefusal.AuthInvalid, authError);
            return;
        }

        if (pathKey is not null && auth.Source != SentryAuthSource.None)
        {
            await Refuse(context, SentryRefusal.AuthMultiple, "multiple authorization payloads: the path's key and another one");
            return;
        }

        var key = pathKey ?? auth.PublicKey ?? string.Empty;
        if (_admission.Check(key, project) is { } refused)
        {
            await Refuse(context, refused.Refusal, refused.Reason);
            return;
        }

        var mappedKey = key.Length == 0 ? key : _upstream.MapKey(key);
        var path = SentryRequestBuilder.MapPath(pathKey is null ? rawPath : rawPath.Replace(pathKey, mappedKey, StringComparison.OrdinalIgnoreCase), _upstream);
        var query = SentryRequestBuilder.MapQuery(request.QueryString.Value, key, mappedKey);
        var target = new UriBuilder(_upstream.BaseUri) { Path = _upstream.BaseUri.AbsolutePath.TrimEnd('/') + path, Query = query.TrimStart('?') }.Uri;
        using var outgoing = new HttpRequestMessage(new HttpMethod(request.Method), target);
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        foreach (var header in request.Headers)
        {
            if (HopByHop.Contains(header.Key))
            {
                continue;
            }

            var values = header.Value.Select(v => key.Length > 0 && v is not null ? v.Replace(key, mappedKey, StringComparison.OrdinalIgnoreCase) : v).ToArray();
            if (!outgoing.Headers.TryAddWithoutValidation(header.Key, values) && outgoing.Content is not null)
            {
                outgoing.Content.Headers.TryAddWithoutValidation(header.Key, values);
            }
        }

        try
        {
            using var response = await _clients.CreateClient(ClientName).SendAsync(outgoing, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(header.Key))
                {
                    context.Response.Headers[header.Key] = header.Value.ToArray();
                }
            }

            _metrics.Request(SentryIngressEndpoint.Passthrough, (int)response.StatusCode);
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            if (_failedLog.ShouldLog(out var failures))
            {
                Log.Failed(_logger, failures, _upstream.Name, ex.Message);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                _metrics.Request(SentryIngressEndpoint.Passthrough, StatusCodes.Status502BadGateway);
            }
        }
    }

    /// <summary>
    /// Null when the path may be passed through (its numeric project id and, for Unreal, the key in it are
    /// given back); otherwise why not.
    /// </summary>
    private (SentryRefusal Refusal, string Reason)? Screen(string path, out string? project, out string? pathKey)
    {
        project = null;
        pathKey = null;
        if (path.Contains("//", StringComparison.Ordinal))
        {
            return (SentryRefusal.InvalidPath, "the path has an empty segment ('//'); Sentry paths have none");
        }

        // Kestrel decodes every escape in the path but %2F; a '\\' is a slash to some servers.
        if (path.Contains("%2F", StringComparison.OrdinalIgnoreCase) || path.Contains('\\', StringComparison.Ordinal))
        {
            return (SentryRefusal.InvalidPath, "the path has an encoded slash or a backslash; Sentry paths have none");
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var first = segments.Length > 1 ? segments[1] : string.Empty;
        var second = segments.Length > 2 ? segments[2] : null;
        var numeric = first.Length > 0 && first.All(char.IsAsciiDigit);
        if ((numeric && second is not null && IngestionNames.Contains(second)) || first.Equals("store", StringComparison.OrdinalIgnoreCase))
        {
            return (SentryRefusal.NotFound, $"not a Sentry ingestion path: nothing follows /{(numeric ? second : first)}/");
        }

        var sdk = (numeric && first != "0") || first.Equals("embed", StringComparison.OrdinalIgnoreCase);
        if (_mode == SentryPassthroughMode.Off || (!sdk && _mode != SentryPassthroughMode.All))
        {
            return (SentryRefusal.PassthroughDisabled, sdk
                ? "pass-through is off on this proxy (CloudProxy:Sentry:Ingress:Passthrough)"
                : "the upstream's web API is not exposed by this proxy (CloudProxy:Sentry:Ingress:Passthrough=All exposes it)");
        }

        project = numeric ? first : null;
        if (numeric && second is not null && second.Equals("unreal", StringComparison.OrdinalIgnoreCase))
        {
            pathKey = segments.Length > 3 ? segments[3] : string.Empty;
            if (!SentryAuthReader.IsValidKey(pathKey))
            {
                return (SentryRefusal.AuthInvalid, "invalid public key in the unreal path: expected 32 hex digits");
            }
        }

        return null;
    }

    private Task Refuse(HttpContext context, SentryRefusal refusal, string reason)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
#pragma warning disable CA1873 // guarded by IsEnabled just above
            Log.Refused(_logger, SentryIngressMetrics.ReasonName(refusal), reason);
#pragma warning restore CA1873
        }

        return _replies.RefuseAsync(context, SentryIngressEndpoint.Passthrough, refusal, reason);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.PassthroughRefused, Level = LogLevel.Debug, Message = "Refused a Sentry pass-through request ({Reason}): {Detail}")]
        public static partial void Refused(ILogger logger, string reason, string detail);

        [LoggerMessage(EventId = SentryEventIds.PassthroughFailed, Level = LogLevel.Warning, Message = "{Count} pass-through request(s) to upstream {Upstream} failed since the last report (answered 502): {Detail}")]
        public static partial void Failed(ILogger logger, long count, string upstream, string detail);
    }
}

using CloudProxy.Core.Logging;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// Any other <c>/api/…</c> request (project config, user feedback forms, unknown future endpoints) is passed
/// straight through to the FIRST upstream and its answer returned, with that upstream's key and project
/// mapping applied. Not buffered: these are not events, and the client wants the upstream's answer.
/// </summary>
public sealed partial class SentryPassthrough
{
    public const string ClientName = "sentry-passthrough";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Host", "Content-Length",
    };

    private readonly SentryUpstream? _upstream;
    private readonly IHttpClientFactory _clients;
    private readonly SentryReplies _replies;
    private readonly SentryIngressMetrics _metrics;
    private readonly ILogger<SentryPassthrough> _logger;
    private readonly LogThrottle _failedLog = new();

    public SentryPassthrough(IOptions<SentryOptions> options, IHttpClientFactory clients, SentryReplies replies, SentryIngressMetrics metrics, ILogger<SentryPassthrough> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _upstream = SentryUpstream.Resolve(options.Value.Forwarder, []).FirstOrDefault();
        _clients = clients;
        _replies = replies;
        _metrics = metrics;
        _logger = logger;
    }

    public async Task ForwardAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _metrics.OgreReqCount.Inc();
        SentryReplies.ApplyCors(context);
        if (_upstream is null)
        {
            await _replies.RefuseAsync(context, SentryIngressEndpoint.Passthrough, SentryRefusal.NoUpstream, "no upstream Sentry is configured for pass-through requests");
            return;
        }

        var request = context.Request;
        SentryAuthReader.TryRead(request, out var auth, out _);
        var key = auth.PublicKey ?? string.Empty;
        var mappedKey = key.Length == 0 ? key : _upstream.MapKey(key);
        var path = SentryRequestBuilder.MapPath(request.Path.Value ?? "/", _upstream);
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

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.PassthroughFailed, Level = LogLevel.Warning, Message = "{Count} pass-through request(s) to upstream {Upstream} failed since the last report (answered 502): {Detail}")]
        public static partial void Failed(ILogger logger, long count, string upstream, string detail);
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Outbox;
using CloudProxy.Graphite.Forwarder;
using CloudProxy.Graphite.Keys;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite.Ingress;

/// <summary>
/// polymur-gateway's HTTP API: <c>/ping</c> checks the <c>X-Polymur-Key</c>, <c>/ingest</c> takes a batch.
/// Replies keep polymur's bodies (<c>key is valid</c>, <c>Batch Received</c>, <c>invalid key</c>,
/// <c>Batch Malformed</c>) so polymur-proxy logs make sense; refusals add the reason after the word.
/// </summary>
internal sealed partial class GraphiteGatewayHandler
{
    public const string KeyHeader = "X-Polymur-Key";
    public const string BadLinesHeader = "X-CloudProxy-Bad-Lines";
    public const string RetryAfterSeconds = "5";

    private readonly GraphiteKeyCache _keys;
    private readonly GraphiteSubmitter _submitter;
    private readonly GraphiteQuotas _quotas;
    private readonly GraphiteIngressMetrics _metrics;
    private readonly GraphiteGatewayOptions _options;
    private readonly GraphiteForwarder? _forwarder;
    private readonly HashSet<IPAddress> _trusted;
    private readonly ILogger<GraphiteGatewayHandler> _logger;
    private readonly LogThrottle _invalidKeyLog = new();
    private readonly LogThrottle _batchRefusedLog = new();
    private readonly LogThrottle _outboxFullLog = new();

    public GraphiteGatewayHandler(
        GraphiteKeyCache keys, GraphiteSubmitter submitter, GraphiteQuotas quotas, GraphiteIngressMetrics metrics, IOptions<GraphiteOptions> options,
        IServiceProvider services, ILogger<GraphiteGatewayHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _keys = keys;
        _submitter = submitter;
        _quotas = quotas;
        _metrics = metrics;
        _options = options.Value.Gateway;
        _forwarder = services.GetService<GraphiteForwarder>();
        _trusted = [.. _options.TrustedProxies.Select(IPAddress.Parse)];
        _logger = logger;
    }

    public async Task PingAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = _keys.Validate(context.Request.Headers[KeyHeader]);
        if (key is null)
        {
            await InvalidKeyAsync(context, "ping");
            return;
        }

        await ReplyAsync(context, "ping", StatusCodes.Status200OK, "key is valid\n");
    }

    public async Task IngestAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = _keys.Validate(context.Request.Headers[KeyHeader]);
        if (key is null)
        {
            await InvalidKeyAsync(context, "ingest");
            return;
        }

        if (_forwarder is { Links.Count: 0 })
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "no_destinations",
                "Gateway Unavailable: no carbon destinations are configured (CloudProxy:Graphite:Forwarder:Destinations, -destinations)");
            return;
        }

        var (text, refusal) = await GraphiteBodyReader.ReadAsync(context, _options.MaxBodyBytes, _options.MaxDecompressedBytes);
        if (refusal is not null)
        {
            if (_logger.IsEnabled(LogLevel.Information) && _batchRefusedLog.ShouldLog(out var refused))
            {
#pragma warning disable CA1873 // guarded by IsEnabled just above
                Log.BatchRefused(_logger, refused, ClientAddress(context), key.Name, refusal.Message);
#pragma warning restore CA1873
            }

            await RefuseAsync(context, refusal.Status, refusal.Reason, refusal.Message);
            return;
        }

        using (text)
        {
            using var lines = new Protocol.GraphitePooledBuffer(text!.Length + (text.Length / 8) + 64);
            var prefix = key.Prefix ?? _options.KeyPrefix ? Encoding.UTF8.GetBytes(key.Name) : [];
            var result = _submitter.Validate(text.WrittenSpan, key.Name, prefix, lines);
            if (result.Good == 0 && result.Bad > 0)
            {
                context.Response.Headers[BadLinesHeader] = result.Bad.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await RefuseAsync(context, StatusCodes.Status400BadRequest, "no_valid_lines",
                    $"Batch Malformed: none of its {result.Bad} lines is valid (path value timestamp); see the admin API's bad lines for key {key.Name}");
                return;
            }

            // The quota counts the points that would be forwarded; an over-quota batch is refused whole.
            var bucket = _quotas.For(key);
            if (bucket is not null && !bucket.TryTake(result.Good, out var wait))
            {
                _quotas.Refused(key.Name, result.Good);
                var seconds = RetryAfter(wait);
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await RefuseAsync(context, StatusCodes.Status429TooManyRequests, "over_quota", string.Create(CultureInfo.InvariantCulture,
                    $"Over Quota: key {key.Name} may send {bucket.PointsPerSecond} points per second (burst {bucket.Burst}); this batch of {result.Good} points fits in {seconds} s"));
                return;
            }

            if (await _submitter.SubmitAsync(lines, result.Good, key.Name) == OutboxResult.Refused)
            {
                bucket?.Return(result.Good);
                if (_outboxFullLog.ShouldLog(out var refused))
                {
                    Log.OutboxFull(_logger, refused, result.Good);
                }

                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "outbox_full", "Gateway Busy: the outbox and spool are full; retry later");
                return;
            }

            if (result.Bad > 0)
            {
                context.Response.Headers[BadLinesHeader] = result.Bad.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (_logger.IsEnabled(LogLevel.Debug))
            {
#pragma warning disable CA1873 // guarded by IsEnabled just above
                Log.BatchReceived(_logger, ClientAddress(context), key.Name, result.Good, result.Bad);
#pragma warning restore CA1873
            }

            await ReplyAsync(context, "ingest", StatusCodes.Status200OK, "Batch Received\n");
        }
    }

    /// <summary>Retry-After in whole seconds (rounded up, at least 1) until the bucket holds the batch.</summary>
    public static long RetryAfter(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));

    /// <summary>X-Forwarded-For is believed only when the peer is a configured trusted proxy (for logs only).</summary>
    public string ClientAddress(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ResolveClient(context.Connection.RemoteIpAddress, context.Request.Headers["X-Forwarded-For"], _trusted);
    }

    /// <summary>The peer, unless it is a trusted proxy: then, right to left, the first hop that is not one.</summary>
    public static string ResolveClient(IPAddress? remote, string? forwarded, IReadOnlySet<IPAddress> trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        if (remote is null)
        {
            return "unknown";
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        if (!trusted.Contains(remote) || string.IsNullOrEmpty(forwarded))
        {
            return remote.ToString();
        }

        var hops = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i], out var hop) || !trusted.Contains(hop))
            {
                return hops[i];
            }
        }

        return hops.Length > 0 ? hops[0] : remote.ToString();
    }

    private Task InvalidKeyAsync(HttpContext context, string endpoint)
    {
        if (_logger.IsEnabled(LogLevel.Information) && _invalidKeyLog.ShouldLog(out var refused))
        {
#pragma warning disable CA1873 // guarded by IsEnabled just above
            Log.InvalidKey(_logger, refused, ClientAddress(context), endpoint);
#pragma warning restore CA1873
        }

        _metrics.Refusal("invalid_key");
        context.Response.Headers.Connection = "close";

        // polymur answers exactly this, without a newline.
        return ReplyAsync(context, endpoint, StatusCodes.Status401Unauthorized, "invalid key");
    }

    private Task RefuseAsync(HttpContext context, int status, string reason, string message)
    {
        _metrics.Refusal(reason);
        return ReplyAsync(context, "ingest", status, message + "\n");
    }

    private Task ReplyAsync(HttpContext context, string endpoint, int status, string body)
    {
        _metrics.Request(endpoint, status);
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(body);
        response.ContentLength = bytes.Length;
        return response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.InvalidKey, Level = LogLevel.Information, Message = "{Count} request(s) with an invalid key since the last report (the last: [client {Client}] on /{Endpoint})")]
        public static partial void InvalidKey(ILogger logger, long count, string client, string endpoint);

        [LoggerMessage(EventId = GraphiteEventIds.BatchReceived, Level = LogLevel.Debug, Message = "[client {Client}] batch from {Key}: {Good} points, {Bad} bad lines")]
        public static partial void BatchReceived(ILogger logger, string client, string key, int good, int bad);

        [LoggerMessage(EventId = GraphiteEventIds.BatchRefused, Level = LogLevel.Information, Message = "{Count} batch(es) refused since the last report (the last: [client {Client}] from {Key}: {Reason})")]
        public static partial void BatchRefused(ILogger logger, long count, string client, string key, string reason);

        [LoggerMessage(EventId = GraphiteEventIds.OutboxFull, Level = LogLevel.Warning, Message = "Refused {Count} Graphite batch(es) with 503 since the last report: outbox and spool are full (the last had {Points} points)")]
        public static partial void OutboxFull(ILogger logger, long count, int points);
    }
}

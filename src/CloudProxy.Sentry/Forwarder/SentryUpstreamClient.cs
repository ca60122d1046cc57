using System.Net;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>
/// Sends to one upstream through its IHttpClientFactory client (timeouts, retries with jitter on transport
/// errors and 5xx, circuit breaker), within its AIMD limit. Learns the upstream's rate limits from every
/// answer and sends nothing a limit covers until it expires. Says whether the envelope is done for this
/// upstream (accepted, or refused for good and counted), held back by a rate limit, or failed (the upstream
/// did not answer, or answered 5xx): both of the latter are tried again later.
/// </summary>
internal sealed partial class SentryUpstreamClient
{
    private readonly HttpClient _client;
    private readonly SentryRateLimitTable _limits;
    private readonly SentryForwarderMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogThrottle _failingLog;
    private readonly LogThrottle _rejectedLog;
    private readonly LogThrottle _rateLimitedLog;
    private readonly bool _compress;
    private readonly Action<long, long> _wireBytes;
    private long _pausedUntilTicks;

    public SentryUpstreamClient(
        SentryUpstream upstream,
        SentryForwarderOptions options,
        IHttpClientFactory clients,
        SentryRateLimitTable limits,
        SentryForwarderMetrics metrics,
        TimeProvider time,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Upstream = upstream;
        ArgumentNullException.ThrowIfNull(clients);
        // One client for the forwarder's life: its SocketsHttpHandler recycles connections itself
        // (PooledConnectionLifetime), and creating one per send costs on every envelope.
        _client = clients.CreateClient(upstream.ClientName);
        _limits = limits;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _failingLog = new LogThrottle(time);
        _rejectedLog = new LogThrottle(time);
        _rateLimitedLog = new LogThrottle(time);
        _compress = options.Compress;
        var name = upstream.Name;
        _wireBytes = (wire, uncompressed) => metrics.WireBytes(name, wire, uncompressed);
        Limiter = new SentryAimdLimiter(options.InitialConcurrency, options.MinConcurrency, options.MaxConcurrency, options.LatencyRiseFactor, time);
    }

    public SentryUpstream Upstream { get; }

    public SentryAimdLimiter Limiter { get; }

    /// <summary>
    /// Sends the envelope, or the part of it no rate limit of this upstream covers: then <c>Held</c> is the rest
    /// (same header line, the held items), to be kept for this upstream until the limit ends.
    /// </summary>
    public async Task<(SentrySendResult Result, Envelope? Held)> SendAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var name = Upstream.Name;
        var now = _time.GetUtcNow();
        var project = envelope.Headers.GetValueOrDefault(SentryEnvelopeHeaders.Project);
        var categories = SentryForwarder.CategoriesOf(envelope);
        if (now.UtcTicks < Interlocked.Read(ref _pausedUntilTicks)
            || _limits.LimitedUntil(name, envelope.Key, project, categories, now) is not null)
        {
            // Obey the upstream: nothing is sent before its limit expires; the envelope waits in the queue.
            _metrics.Outcome(name, SentryUpstreamOutcome.Deferred);
            return (SentrySendResult.Limited, null);
        }

        Envelope? held = null;
        if (envelope.Kind == SentryEnvelopeHeaders.EnvelopeKind && _limits.AnyFor(name, now))
        {
            // A limit covers some of its categories: send the other items now, as Relay would, and hold the rest.
            var key = envelope.Key;
            var parts = SentryEnvelopeSplit.Split(envelope.Payload.Span, c => _limits.LimitedUntil(name, key, project, c, now) is not null);
            if (parts is not null)
            {
                if (parts.Kept is null)
                {
                    _metrics.Outcome(name, SentryUpstreamOutcome.Deferred);
                    return (SentrySendResult.Limited, null);
                }

                held = SentryForwarder.CopyOf(envelope, parts.Held, parts.HeldCategories, name);
                envelope = SentryForwarder.CopyOf(envelope, parts.Kept, parts.KeptCategories, envelope.Headers.GetValueOrDefault(SentryEnvelopeHeaders.Upstreams));
            }
        }

        var result = await SendNowAsync(envelope, project, cancellationToken);
        if (result != SentrySendResult.Done || held is null)
        {
            return (result, null);
        }

        _metrics.ItemsHeld(name, SentryEnvelopeSplit.TryReadItems(held.Payload.Span, out _, out var items) ? items.Count : 0);
        return (result, held);
    }

    private async Task<SentrySendResult> SendNowAsync(Envelope envelope, string? project, CancellationToken cancellationToken)
    {
        var name = Upstream.Name;
        var now = _time.GetUtcNow();

        await Limiter.AcquireAsync(cancellationToken);
        var started = _time.GetTimestamp();
        var succeeded = false;
        var overloaded = false;
        try
        {
            _metrics.OgreRequests.Inc();
            using var request = SentryRequestBuilder.Build(Upstream, envelope, _compress, _wireBytes);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var elapsed = _time.GetElapsedTime(started);
            _metrics.Latency(name, elapsed);
            LearnLimits(response, envelope.Key, project);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                succeeded = true;
                _metrics.Outcome(name, SentryUpstreamOutcome.Delivered);
                return SentrySendResult.Done;
            }

            _metrics.OgreFailed.Inc();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                overloaded = true;
                _metrics.Outcome(name, SentryUpstreamOutcome.RateLimited);
                if (_logger.IsEnabled(LogLevel.Information) && _rateLimitedLog.ShouldLog(out var limited))
                {
                    var retryAfter = response.Headers.RetryAfter?.ToString();
                    var announced = HeaderOf(response, "X-Sentry-Rate-Limits");
                    Log.RateLimited(_logger, name, limited, retryAfter, announced);
                }

                return SentrySendResult.Limited;
            }

            if (status >= 500 || status == 408)
            {
                overloaded = status is 503 or 504 or 408;
                if (response.Headers.RetryAfter is not null)
                {
                    var wait = SentryRateLimitParser.ParseRetryAfter(response.Headers.RetryAfter.ToString(), now);
                    Interlocked.Exchange(ref _pausedUntilTicks, (now + wait).UtcTicks);
                }

                _metrics.Outcome(name, SentryUpstreamOutcome.ServerError);
                Failing(name, status, null);

                return SentrySendResult.Failed;
            }

            // 400, 413 and the other 4xx: this upstream will never take it. Dropped, counted, not resent.
            _metrics.Outcome(name, SentryUpstreamOutcome.Rejected);
            _metrics.Dropped(name, status);
            if (_logger.IsEnabled(LogLevel.Warning) && _rejectedLog.ShouldLog(out var rejected))
            {
                var eventId = envelope.Headers.GetValueOrDefault(SentryEnvelopeHeaders.EventId);
                Log.Rejected(_logger, name, rejected, status, eventId);
            }

            return SentrySendResult.Done;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            overloaded = ex is TimeoutRejectedException;
            _metrics.OgreFailed.Inc();
            _metrics.Outcome(name, SentryUpstreamOutcome.TransportError);
            Failing(name, null, ex);

            return SentrySendResult.Failed;
        }
        finally
        {
            Limiter.Release(succeeded, overloaded, _time.GetElapsedTime(started));
        }
    }

    /// <summary>A send that will be tried again: each one at Debug, and a Warning once per interval with the count.</summary>
    private void Failing(string name, int? status, Exception? ex)
    {
        var debug = _logger.IsEnabled(LogLevel.Debug);
        var report = _failingLog.ShouldLog(out var failures);
        if (!debug && !report)
        {
            return;
        }

        var detail = ex is null ? $"HTTP {status}" : ex.GetType().Name + ": " + ex.Message;
        if (debug)
        {
            Log.Failed(_logger, name, detail);
        }

        if (report)
        {
            Log.Failing(_logger, name, failures, detail);
        }
    }

    private void LearnLimits(HttpResponseMessage response, string? key, string? project)
    {
        var now = _time.GetUtcNow();
        var header = HeaderOf(response, "X-Sentry-Rate-Limits");
        if (header is not null)
        {
            _limits.Apply(SentryRateLimitParser.ParseRateLimits(header, Upstream.Name, key, project, now));
        }
        else if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var retryAfter = response.Headers.RetryAfter?.ToString();
            var wait = SentryRateLimitParser.ParseRetryAfter(retryAfter, now);
            _limits.Apply([new SentryRateLimit(Upstream.Name, SentryCategories.None, string.Empty, SentryRateLimitScope.Organization, null, null, now + wait)]);
        }
    }

    private static string? HeaderOf(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.UpstreamRateLimited, Level = LogLevel.Information, Message = "Upstream {Upstream} answered 429 {Count} time(s) since the last report (the last: Retry-After {RetryAfter}, X-Sentry-Rate-Limits {Limits}); holding matching envelopes until it expires")]
        public static partial void RateLimited(ILogger logger, string upstream, long count, string? retryAfter, string? limits);

        [LoggerMessage(EventId = SentryEventIds.UpstreamRejected, Level = LogLevel.Warning, Message = "Upstream {Upstream} refused {Count} event(s) for good since the last report (the last: {EventId} with HTTP {Status}); dropped and counted")]
        public static partial void Rejected(ILogger logger, string upstream, long count, int status, string? eventId);

        [LoggerMessage(EventId = SentryEventIds.UpstreamFailing, Level = LogLevel.Warning, Message = "Sending to upstream {Upstream} failed {Count} time(s) since the last report (the last: {Detail}); the envelopes are kept and retried")]
        public static partial void Failing(ILogger logger, string upstream, long count, string detail);

        [LoggerMessage(EventId = SentryEventIds.UpstreamFailed, Level = LogLevel.Debug, Message = "Sending to upstream {Upstream} failed ({Detail}); will retry")]
        public static partial void Failed(ILogger logger, string upstream, string detail);
    }
}

/// <summary>What became of one envelope at one upstream.</summary>
internal enum SentrySendResult
{
    /// <summary>Accepted, or refused for good (4xx, counted): nothing more to do at this upstream.</summary>
    Done = 0,

    /// <summary>Held back by a rate limit the upstream announced (or a 429): try it again once the limit ends.</summary>
    Limited = 1,

    /// <summary>The upstream did not answer, or answered 5xx/408: try again later.</summary>
    Failed = 2,
}

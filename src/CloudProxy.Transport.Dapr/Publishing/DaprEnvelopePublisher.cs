using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using CloudProxy.Core.Delivery;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Telemetry;
using CloudProxy.Core.Transport;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Transport.Dapr.Publishing;

/// <summary>Which bulk publish RPC the sidecar is believed to implement.</summary>
internal enum BulkPublishApi
{
    /// <summary><c>BulkPublishEvent</c> (stable, newer runtimes).</summary>
    Stable = 0,

    /// <summary><c>BulkPublishEventAlpha1</c> (every runtime since 1.10).</summary>
    Alpha1 = 1,

    /// <summary>Neither: one <c>PublishEvent</c> per envelope.</summary>
    None = 2,
}

/// <summary>
/// Publishes envelopes through the Dapr sidecar. Each envelope is <see cref="EnvelopeCodec"/> bytes sent as
/// <c>application/octet-stream</c>, which daprd wraps in a CloudEvent as <c>data_base64</c>: the bytes reach
/// the subscriber unchanged. Batches go out with bulk publish when enabled, stepping down to the alpha RPC
/// and then to single publishes when the sidecar answers Unimplemented (remembered for the process).
/// <para>
/// daprd answers a bulk publish in which the component failed any entry with <c>Internal</c> and an EMPTY
/// response (dapr/dapr pkg/api/grpc/grpc.go bulkPublishEvent), so it never says which entry failed: such a
/// request is published again entry by entry with <c>PublishEvent</c>, and only the entries that fail alone
/// are offered again later. An entry that fails while others in the same call go through is entry-specific
/// (too large for the broker, unserialisable): after <see cref="MaxEntryStrikes"/> such failures, or at once
/// for a code that can never change (InvalidArgument, ResourceExhausted, OutOfRange), it is quarantined.
/// When every entry fails alike the broker or the configuration is at fault: nothing is quarantined, the
/// outbox keeps everything and backs off.
/// </para>
/// </summary>
internal sealed partial class DaprEnvelopePublisher : IEnvelopePublisher
{
    internal const string ContentType = "application/octet-stream";

    // Per-entry protobuf framing (entry id, content type, tags) on top of the event bytes.
    private const int EntryOverheadBytes = 64;
    private const int MaxLinks = 128;

    /// <summary>Entry-specific failures (others in the same call went through) before an entry is quarantined.</summary>
    internal const int MaxEntryStrikes = 3;

    // CloudEvent attributes daprd adds around data_base64 (id, source, type, topic, pubsubname, traceparent…).
    private const int CloudEventOverheadBytes = 1024;

    private readonly DaprSidecarChannel _sidecar;
    private readonly TransportOptions _transport;
    private readonly DaprTransportOptions _options;
    private readonly DaprMetrics _metrics;
    private readonly CoreMetrics _coreMetrics;
    private readonly Quarantine _quarantine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConditionalWeakTable<Envelope, StrongBox<int>> _strikes = [];
    private int _bulkApi;

    public DaprEnvelopePublisher(
        DaprSidecarChannel sidecar,
        IOptions<TransportOptions> transport,
        IOptions<DaprTransportOptions> options,
        DaprMetrics metrics,
        CoreMetrics coreMetrics,
        Quarantine quarantine,
        TimeProvider time,
        ILogger<DaprEnvelopePublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        _sidecar = sidecar ?? throw new ArgumentNullException(nameof(sidecar));
        _transport = transport.Value;
        _options = options.Value;
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _coreMetrics = coreMetrics ?? throw new ArgumentNullException(nameof(coreMetrics));
        _quarantine = quarantine ?? throw new ArgumentNullException(nameof(quarantine));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    internal BulkPublishApi BulkApi => (BulkPublishApi)Volatile.Read(ref _bulkApi);

    public async Task<IReadOnlyList<int>> PublishAsync(string topic, IReadOnlyList<Envelope> batch, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return [];
        }

        // Measured once: bulk requests are cut by these lengths and the envelopes encoded into the request itself.
        var lengths = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            lengths[i] = EnvelopeCodec.GetEncodedLength(batch[i]);
        }

        var failed = new List<int>();
        var progress = new Progress();
        if (_options.MaxMessageBytes > 0)
        {
            // What can never fit the broker is kept aside now, not offered to it forever.
            for (var i = 0; i < batch.Count; i++)
            {
                if (((lengths[i] + 2L) / 3 * 4) + CloudEventOverheadBytes > _options.MaxMessageBytes)
                {
                    progress.Quarantined.Add(i);
                    await QuarantineAsync(topic, batch[i], "too_large_for_broker");
                }
            }
        }

        if (_transport.BulkPublish)
        {
            await PublishBulkAsync(topic, batch, lengths, failed, progress, cancellationToken);
        }

        if (progress.Next < batch.Count)
        {
            await PublishSinglyAsync(topic, batch, failed, progress, batch.Count, cancellationToken);
        }

        return failed;
    }

    private async Task PublishBulkAsync(
        string topic, IReadOnlyList<Envelope> batch, int[] lengths, List<int> failed, Progress progress, CancellationToken cancellationToken)
    {
        while (progress.Next < lengths.Length)
        {
            var api = BulkApi;
            if (api == BulkPublishApi.None)
            {
                return;
            }

            while (progress.Next < lengths.Length && progress.Quarantined.Contains(progress.Next))
            {
                progress.Next++;
            }

            if (progress.Next >= lengths.Length)
            {
                return;
            }

            var start = progress.Next;
            var end = ChunkEnd(lengths, start, _options.BulkPublishMaxBytes, progress.Quarantined);
            if (end - start == 1 && lengths[start] + EntryOverheadBytes > _options.BulkPublishMaxBytes)
            {
                // Larger than a bulk request may be: alone, so that whatever the sidecar says concerns it only.
                await PublishSinglyAsync(topic, batch, failed, progress, end, cancellationToken);
                if (progress.Next < end)
                {
                    return;
                }

                continue;
            }

            var request = new BulkPublishEnvelopes(_transport.PubSubName, topic, batch, lengths, start, end);

            // BulkPublishEventAlpha1 is obsolete in the protos, yet the only bulk RPC of runtimes before BulkPublishEvent.
            var method = api == BulkPublishApi.Stable ? BulkPublishWire.Stable : BulkPublishWire.Alpha1;
            using var activity = StartBulkActivity(topic, batch, start, end);
            var options = CreateCallOptions(activity, envelope: null, cancellationToken);
            try
            {
                var response = await _sidecar.Invoker.AsyncUnaryCall(method, host: null, options, request);
                progress.Reached = true;
                var failedHere = CollectFailedEntries(topic, response, start, end, failed);
                _metrics.PublishEnvelopes.WithLabels("bulk", "published").Inc(end - start - failedHere);
                _metrics.PublishEnvelopes.WithLabels("bulk", "failed").Inc(failedHere);
                activity?.SetStatus(failedHere == 0 ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
                progress.Next = end;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                var next = api == BulkPublishApi.Stable ? BulkPublishApi.Alpha1 : BulkPublishApi.None;
                if (Interlocked.CompareExchange(ref _bulkApi, (int)next, (int)api) == (int)api)
                {
                    _metrics.BulkPublishFallbacks.WithLabels(next == BulkPublishApi.Alpha1 ? "alpha1" : "single").Inc();
                    Log.BulkPublishDowngraded(_logger, api, next);
                }
            }
            catch (RpcException ex) when (IsUnreachable(ex.StatusCode))
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                OnUnreachable(ex, progress, "bulk", failed, lengths.Length);
                return;
            }
            catch (RpcException ex)
            {
                // daprd answers a bulk publish in which any entry failed with an error status and no failed
                // entries at all: the request is published again entry by entry, to find which fail.
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Reached = true;
                _metrics.PublishErrors.WithLabels(ex.StatusCode.ToString()).Inc();
                if (end - start == 1)
                {
                    // A request of one entry: what the sidecar said concerns that entry alone.
                    await SettleRefusedAsync(topic, batch, failed, [(start, ex.StatusCode)], published: 0);
                    progress.Next = end;
                    continue;
                }

                _metrics.BulkSplits.Inc();
                Log.BulkRefusedPublishingSingly(_logger, topic, end - start, ex.StatusCode, ex.Status.Detail);
                await PublishSinglyAsync(topic, batch, failed, progress, end, cancellationToken, afterBulkRefusal: true);
                if (progress.Next < end)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Publishes entries from <c>progress.Next</c> up to <paramref name="end"/> one by one. After a bulk request
    /// daprd refused (<paramref name="afterBulkRefusal"/>), each entry that goes through may have been published
    /// by that request already (daprd publishes a bulk entry by entry and does not say which failed): counted as a
    /// possible duplicate.
    /// </summary>
    private async Task PublishSinglyAsync(
        string topic, IReadOnlyList<Envelope> batch, List<int> failed, Progress progress, int end, CancellationToken cancellationToken, bool afterBulkRefusal = false)
    {
        var refused = new List<(int Index, StatusCode Code)>();
        var published = 0;
        for (var i = progress.Next; i < end; i++)
        {
            if (progress.Quarantined.Contains(i))
            {
                progress.Next = i + 1;
                continue;
            }

            var request = new Autogen.PublishEventRequest
            {
                PubsubName = _transport.PubSubName,
                Topic = topic,
                // The array is ours and never touched again, so wrapping it without a copy is safe.
                Data = UnsafeByteOperations.UnsafeWrap(EnvelopeCodec.Encode(batch[i])),
                DataContentType = ContentType,
            };

            var parent = TryParseContext(batch[i], out var context) ? context : default;
            using var activity = StartActivity(topic, parent, links: null, count: 1);
            try
            {
                await _sidecar.Client.PublishEventAsync(request, CreateCallOptions(activity, batch[i], cancellationToken));
                progress.Reached = true;
                progress.Next = i + 1;
                published++;
                _metrics.PublishEnvelopes.WithLabels("single", "published").Inc();
                if (afterBulkRefusal)
                {
                    _coreMetrics.Duplicates.WithLabels(topic, "bulk_refused").Inc();
                }
            }
            catch (RpcException ex) when (IsUnreachable(ex.StatusCode))
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Next = i;
                await SettleRefusedAsync(topic, batch, failed, refused, published);
                OnUnreachable(ex, progress, "single", failed, end);
                return;
            }
            catch (RpcException ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Reached = true;
                progress.Next = i + 1;
                _metrics.PublishErrors.WithLabels(ex.StatusCode.ToString()).Inc();
                Log.PublishRefused(_logger, "single", topic, 1, ex.StatusCode, ex.Status.Detail);
                refused.Add((i, ex.StatusCode));
            }
        }

        await SettleRefusedAsync(topic, batch, failed, refused, published);
    }

    /// <summary>
    /// Entries the sidecar refused one by one. The fault is the entry's own when others of the same call went
    /// through, or when a request of that entry alone was too large (ResourceExhausted): then a code that can
    /// never change quarantines it at once and any other after a few strikes. Otherwise (none went through) the
    /// broker or the configuration is at fault, and all are offered again later.
    /// </summary>
    private async Task SettleRefusedAsync(string topic, IReadOnlyList<Envelope> batch, List<int> failed, List<(int Index, StatusCode Code)> refused, int published)
    {
        foreach (var (index, code) in refused)
        {
            var own = published > 0 || code == StatusCode.ResourceExhausted;
            if (own && (IsPermanent(code) || Strike(batch[index]) >= MaxEntryStrikes))
            {
                await QuarantineAsync(topic, batch[index], "refused_" + code.ToString().ToLowerInvariant());
                continue;
            }

            failed.Add(index);
            _metrics.PublishEnvelopes.WithLabels("single", "failed").Inc();
        }
    }

    private int Strike(Envelope envelope) => Interlocked.Increment(ref _strikes.GetValue(envelope, _ => new StrongBox<int>()).Value);

    private async Task QuarantineAsync(string topic, Envelope envelope, string reason)
    {
        _metrics.PublishEnvelopes.WithLabels("single", "quarantined").Inc();
        await _quarantine.KeepAsync(topic, envelope, default, reason);
    }

    /// <summary>Codes daprd gives for what is wrong with the request itself, which sending it again cannot change.</summary>
    private static bool IsPermanent(StatusCode code) =>
        code is StatusCode.InvalidArgument or StatusCode.ResourceExhausted or StatusCode.OutOfRange;

    /// <summary>Nothing reached the sidecar: throw so the caller spools the batch. Otherwise fail the rest.</summary>
    private void OnUnreachable(RpcException ex, Progress progress, string mode, List<int> failed, int count)
    {
        _metrics.PublishErrors.WithLabels(ex.StatusCode.ToString()).Inc();
        Log.SidecarUnreachable(_logger, _sidecar.Endpoint, ex.StatusCode, ex.Status.Detail);
        if (!progress.Reached)
        {
            throw new DaprSidecarUnavailableException(
                $"The Dapr sidecar at {_sidecar.Endpoint} could not be reached ({ex.StatusCode}: {ex.Status.Detail}).", ex);
        }

        MarkFailed(failed, progress.Next, count, mode);
        progress.Next = count;
    }

    private int CollectFailedEntries(string topic, Autogen.BulkPublishResponse response, int start, int end, List<int> failed)
    {
        var count = 0;
        foreach (var entry in response.FailedEntries)
        {
            if (int.TryParse(entry.EntryId, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index >= start && index < end)
            {
                failed.Add(index);
                count++;
            }
            else
            {
                Log.UnknownFailedEntryId(_logger, topic, entry.EntryId);
            }
        }

        if (count > 0)
        {
            Log.BulkEntriesFailed(_logger, topic, count, end - start, response.FailedEntries[0].Error);
        }

        return count;
    }

    private void MarkFailed(List<int> failed, int start, int end, string mode)
    {
        for (var i = start; i < end; i++)
        {
            failed.Add(i);
        }

        _metrics.PublishEnvelopes.WithLabels(mode, "failed").Inc(end - start);
    }

    private CallOptions CreateCallOptions(Activity? activity, Envelope? envelope, CancellationToken cancellationToken)
    {
        string? traceParent = null;
        string? traceState = null;
        if (activity is not null)
        {
            traceParent = activity.Id;
            traceState = activity.TraceStateString;
        }
        else if (envelope is not null && TryParseContext(envelope, out _))
        {
            traceParent = envelope.TraceParent;
            traceState = envelope.TraceState;
        }
        else if (Activity.Current is { } current)
        {
            traceParent = current.Id;
            traceState = current.TraceStateString;
        }

        var deadline = _time.GetUtcNow().UtcDateTime + _options.PublishTimeout;
        return new CallOptions(_sidecar.CreateHeaders(traceParent, traceState), deadline, cancellationToken);
    }

    private static Activity? StartBulkActivity(string topic, IReadOnlyList<Envelope> batch, int start, int end)
    {
        var activity = StartActivity(topic, default, links: null, end - start);
        if (activity is not { IsAllDataRequested: true })
        {
            // Not recorded (propagation only, or no listener): links would be parsed for nobody.
            return activity;
        }

        // One span for the request, linked to each distinct trace it carries (OpenTelemetry's batch publish model).
        var seen = new HashSet<ActivityTraceId>();
        for (var i = start; i < end && seen.Count < MaxLinks; i++)
        {
            if (TryParseContext(batch[i], out var context) && seen.Add(context.TraceId))
            {
                activity.AddLink(new ActivityLink(context));
            }
        }

        return activity;
    }

    private static Activity? StartActivity(string topic, ActivityContext parent, IEnumerable<ActivityLink>? links, int count)
    {
        var activity = CloudProxyTelemetry.Source.StartActivity($"publish {topic}", ActivityKind.Producer, parent, tags: null, links: links);
        activity?.SetTag("messaging.system", "dapr");
        activity?.SetTag("messaging.destination.name", topic);
        activity?.SetTag("messaging.batch.message_count", count);
        return activity;
    }

    private static bool TryParseContext(Envelope envelope, out ActivityContext context)
    {
        context = default;
        return envelope.TraceParent is not null
            && ActivityContext.TryParse(envelope.TraceParent, envelope.TraceState, isRemote: true, out context);
    }

    /// <summary>Where a bulk request starting at <paramref name="start"/> ends: within the byte limit, before any quarantined entry.</summary>
    private static int ChunkEnd(int[] lengths, int start, int maxBytes, HashSet<int> quarantined)
    {
        var end = start + 1;
        long bytes = lengths[start] + EntryOverheadBytes;
        while (end < lengths.Length && !quarantined.Contains(end) && bytes + lengths[end] + EntryOverheadBytes <= maxBytes)
        {
            bytes += lengths[end] + EntryOverheadBytes;
            end++;
        }

        return end;
    }

    /// <summary>Codes that mean the sidecar was not reached, or did not answer in time.</summary>
    private static bool IsUnreachable(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled;

    private sealed class Progress
    {
        /// <summary>First entry not yet published or failed.</summary>
        public int Next { get; set; }

        /// <summary>The sidecar answered at least once during this batch.</summary>
        public bool Reached { get; set; }

        /// <summary>Entries kept aside before publishing (they count as taken).</summary>
        public HashSet<int> Quarantined { get; } = [];
    }

    private static partial class Log
    {
        [LoggerMessage(DaprLogEvents.PublishRefused, LogLevel.Warning,
            "Dapr {Mode} publish of {Count} envelope(s) to topic {Topic} refused: {Code} {Detail}")]
        public static partial void PublishRefused(ILogger logger, string mode, string topic, int count, StatusCode code, string detail);

        [LoggerMessage(DaprLogEvents.BulkRefusedPublishingSingly, LogLevel.Warning,
            "Dapr bulk publish of {Count} envelopes to topic {Topic} refused ({Code} {Detail}); daprd does not say which entry failed, publishing them one by one")]
        public static partial void BulkRefusedPublishingSingly(ILogger logger, string topic, int count, StatusCode code, string detail);

        [LoggerMessage(DaprLogEvents.BulkPublishDowngraded, LogLevel.Warning,
            "The Dapr sidecar does not implement bulk publish API {From}; using {To} from now on")]
        public static partial void BulkPublishDowngraded(ILogger logger, BulkPublishApi from, BulkPublishApi to);

        [LoggerMessage(DaprLogEvents.BulkEntriesFailed, LogLevel.Warning,
            "Dapr bulk publish to topic {Topic}: {Failed} of {Total} entries failed, first error: {Error}")]
        public static partial void BulkEntriesFailed(ILogger logger, string topic, int failed, int total, string error);

        [LoggerMessage(DaprLogEvents.UnknownFailedEntryId, LogLevel.Warning,
            "Dapr bulk publish to topic {Topic} reported a failed entry id {EntryId} that was not in the request")]
        public static partial void UnknownFailedEntryId(ILogger logger, string topic, string entryId);

        [LoggerMessage(DaprLogEvents.SidecarUnreachable, LogLevel.Warning,
            "The Dapr sidecar at {Endpoint} could not be reached: {Code} {Detail}")]
        public static partial void SidecarUnreachable(ILogger logger, Uri endpoint, StatusCode code, string detail);
    }
}

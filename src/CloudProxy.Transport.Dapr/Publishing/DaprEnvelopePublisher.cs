using System.Diagnostics;
using System.Globalization;
using CloudProxy.Core.Envelopes;
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
/// </summary>
public sealed partial class DaprEnvelopePublisher : IEnvelopePublisher
{
    internal const string ContentType = "application/octet-stream";

    // Per-entry protobuf framing (entry id, content type, tags) on top of the event bytes.
    private const int EntryOverheadBytes = 64;
    private const int MaxLinks = 128;

    private readonly DaprSidecarChannel _sidecar;
    private readonly TransportOptions _transport;
    private readonly DaprTransportOptions _options;
    private readonly DaprMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _bulkApi;

    public DaprEnvelopePublisher(
        DaprSidecarChannel sidecar,
        IOptions<TransportOptions> transport,
        IOptions<DaprTransportOptions> options,
        DaprMetrics metrics,
        TimeProvider time,
        ILogger<DaprEnvelopePublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        _sidecar = sidecar ?? throw new ArgumentNullException(nameof(sidecar));
        _transport = transport.Value;
        _options = options.Value;
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
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
        if (_transport.BulkPublish)
        {
            await PublishBulkAsync(topic, batch, lengths, failed, progress, cancellationToken);
        }

        if (progress.Next < batch.Count)
        {
            await PublishSinglyAsync(topic, batch, failed, progress, cancellationToken);
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

            var start = progress.Next;
            var end = ChunkEnd(lengths, start, _options.BulkPublishMaxBytes);
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
                // entries at all, so the whole request is offered again (at-least-once: some may be duplicates).
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Reached = true;
                _metrics.PublishErrors.WithLabels(ex.StatusCode.ToString()).Inc();
                Log.PublishRefused(_logger, "bulk", topic, end - start, ex.StatusCode, ex.Status.Detail);
                MarkFailed(failed, start, end, "bulk");
                progress.Next = end;
            }
        }
    }

    private async Task PublishSinglyAsync(
        string topic, IReadOnlyList<Envelope> batch, List<int> failed, Progress progress, CancellationToken cancellationToken)
    {
        for (var i = progress.Next; i < batch.Count; i++)
        {
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
                _metrics.PublishEnvelopes.WithLabels("single", "published").Inc();
            }
            catch (RpcException ex) when (IsUnreachable(ex.StatusCode))
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Next = i;
                OnUnreachable(ex, progress, "single", failed, batch.Count);
                return;
            }
            catch (RpcException ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
                progress.Reached = true;
                progress.Next = i + 1;
                _metrics.PublishErrors.WithLabels(ex.StatusCode.ToString()).Inc();
                Log.PublishRefused(_logger, "single", topic, 1, ex.StatusCode, ex.Status.Detail);
                MarkFailed(failed, i, i + 1, "single");
            }
        }
    }

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

    private static int ChunkEnd(int[] lengths, int start, int maxBytes)
    {
        var end = start + 1;
        long bytes = lengths[start] + EntryOverheadBytes;
        while (end < lengths.Length && bytes + lengths[end] + EntryOverheadBytes <= maxBytes)
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
    }

    private static partial class Log
    {
        [LoggerMessage(DaprLogEvents.PublishRefused, LogLevel.Warning,
            "Dapr {Mode} publish of {Count} envelope(s) to topic {Topic} refused: {Code} {Detail}")]
        public static partial void PublishRefused(ILogger logger, string mode, string topic, int count, StatusCode code, string detail);

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

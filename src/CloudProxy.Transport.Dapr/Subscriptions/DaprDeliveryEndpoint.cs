using System.Buffers;
using System.Collections.Frozen;
using System.IO.Pipelines;
using System.Text.Json;
using CloudProxy.Core.Delivery;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Transport.Dapr.Subscriptions;

/// <summary>
/// Serves what daprd calls on the app: <c>GET /dapr/subscribe</c> and the POST route of each topic.
/// Replies follow dapr/dapr pkg/runtime/subscription/postman/http: 2xx with <c>{"status":…}</c> (single) or
/// <c>{"statuses":[{"entryId","status"}]}</c> (bulk); 404 makes daprd drop; any other status makes it retry.
/// </summary>
internal sealed partial class DaprDeliveryEndpoint
{
    public const string TopicRoutePrefix = "/dapr/topics/";

    private readonly DeliveryGate _gate;
    private readonly string[] _topics;
    private readonly TransportOptions _transport;
    private readonly DaprTransportOptions _options;
    private readonly DaprMetrics _metrics;
    private readonly CoreMetrics _coreMetrics;
    private readonly DeliveryJournal _journal;
    private readonly ILogger _logger;

    public DaprDeliveryEndpoint(
        DeliveryGate gate,
        IOptions<TransportOptions> transport,
        IOptions<DaprTransportOptions> options,
        DaprMetrics metrics,
        CoreMetrics coreMetrics,
        DeliveryJournal journal,
        ILogger<DaprDeliveryEndpoint> logger)
    {
        ArgumentNullException.ThrowIfNull(gate);
        _gate = gate;
        _topics = [.. gate.Topics];
        _transport = transport.Value;
        _options = options.Value;
        _metrics = metrics;
        _coreMetrics = coreMetrics;
        _journal = journal;
        _logger = logger;
    }

    public static string RouteFor(string topic) => TopicRoutePrefix + Uri.EscapeDataString(topic);

    /// <summary><c>GET /dapr/subscribe</c>: one programmatic subscription per handler topic.</summary>
    public async Task WriteSubscriptionsAsync(HttpContext context)
    {
        var maxMessages = Math.Max(1, _transport.BulkSubscribeMaxMessages);
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartArray();
            foreach (var topic in _topics)
            {
                json.WriteStartObject();
                json.WriteString("pubsubname", _transport.PubSubName);
                json.WriteString("topic", topic);
                json.WriteString("route", RouteFor(topic));
                json.WriteStartObject("bulkSubscribe");

                // One message per "bulk" is no bulk: BulkSubscribeMaxMessages = 1 turns bulk subscribe off.
                json.WriteBoolean("enabled", maxMessages > 1);
                json.WriteNumber("maxMessagesCount", maxMessages);
                json.WriteNumber("maxAwaitDurationMs", Math.Max(1, _transport.BulkSubscribeMaxAwaitMs));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary><c>POST /dapr/topics/{topic}</c>: a CloudEvent or a bulk delivery.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var topic = context.Request.RouteValues["topic"] as string ?? string.Empty;
        if (!_gate.Handles(topic))
        {
            // 404 is the one status daprd treats as "drop" for single and bulk deliveries alike.
            await RefuseAsync(context, StatusCodes.Status404NotFound, "unknown_topic", $"no handler subscribes to topic '{topic}'");
            return;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = _options.MaxDeliveryBytes;
        }

        if (context.Request.ContentLength > _options.MaxDeliveryBytes)
        {
            await RefuseTooLargeAsync(context);
            return;
        }

        var reader = context.Request.BodyReader;
        ReadResult body;
        try
        {
            body = await ReadToEndAsync(reader, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await RefuseTooLargeAsync(context);
            return;
        }

        Delivery delivery;
        try
        {
            delivery = DaprDeliveryReader.Read(body.Buffer, topic);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }

        // Open until answered: a kill in between makes daprd deliver it again, and the next process counts it.
        var mark = _journal.Begin(topic, delivery.Entries.Count);
        try
        {
            var (outcomes, reasons) = await DispatchAsync(topic, delivery, context.RequestAborted);
            await ReplyAsync(context, delivery, outcomes, reasons);
        }
        catch (Exception) when (Counted(topic, delivery.Entries.Count, "handler_failed"))
        {
            // Unreachable: the filter counts and lets the exception go on (daprd gets a 500 and retries the
            // delivery, parts of which may have been handled).
            throw;
        }
        finally
        {
            _journal.End(mark);
        }
    }

    private bool Counted(string topic, int envelopes, string reason)
    {
        _coreMetrics.Duplicates.WithLabels(topic, reason).Inc(envelopes);
        return false;
    }

    private async Task<(DeliveryOutcome[] Outcomes, string?[] Reasons)> DispatchAsync(
        string topic, Delivery delivery, CancellationToken cancellationToken)
    {
        var entries = delivery.Entries;
        var outcomes = new DeliveryOutcome[entries.Count];
        var reasons = new string?[entries.Count];
        var batch = new List<Envelope>(entries.Count);
        var positions = new List<int>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (delivery.IsBulk && entry.EntryId is null)
            {
                // daprd never sends one (it validates entry ids); without an id there is nothing to answer.
                _metrics.DeliveryRefused.WithLabels("missing_entry_id").Inc();
                Log.BulkEntryWithoutId(_logger, topic);
                continue;
            }

            if (entry.Envelope is { } envelope)
            {
                batch.Add(envelope);
                positions.Add(i);
            }
            else
            {
                outcomes[i] = DeliveryOutcome.Drop;
                reasons[i] = entry.DropDetail;
                _metrics.DeliveryDropped.WithLabels(entry.DropReason!).Inc();
                Log.DeliveryDropped(_logger, topic, entry.EntryId, entry.DropReason!, entry.DropDetail!);
            }
        }

        if (batch.Count > 0)
        {
            // SUCCESS once delivered or durably deferred here: the broker never has to redeliver (RETRY only when
            // the deferral log could not take it). DROP only for what can never be delivered, quarantined here.
            var handled = await _gate.DeliverAsync(topic, batch, canHold: false, cancellationToken);
            for (var j = 0; j < batch.Count; j++)
            {
                outcomes[positions[j]] = handled[j];
                if (handled[j] == DeliveryOutcome.Drop)
                {
                    _metrics.DeliveryDropped.WithLabels(DropReason.Handler).Inc();
                }
            }
        }

        // Kafka (components-contrib common/component/kafka/consumer.go) retries a bulk as a whole when any entry
        // asks for it, so the entries answered SUCCESS come again; Redis retries only the RETRY entries. Counted
        // for either broker: the count is of possible duplicates.
        if (delivery.IsBulk && outcomes.Contains(DeliveryOutcome.Retry))
        {
            var succeeded = outcomes.Count(o => o == DeliveryOutcome.Success);
            if (succeeded > 0)
            {
                _coreMetrics.Duplicates.WithLabels(topic, "bulk_retry").Inc(succeeded);
            }
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (!delivery.IsBulk || entries[i].EntryId is not null)
            {
                _metrics.DeliveryEntries.WithLabels(topic, StatusText(outcomes[i]).ToLowerInvariant()).Inc();
            }
        }

        return (outcomes, reasons);
    }

    private static async Task ReplyAsync(HttpContext context, Delivery delivery, DeliveryOutcome[] outcomes, string?[] reasons)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            if (delivery.IsBulk)
            {
                json.WriteStartArray("statuses");
                for (var i = 0; i < delivery.Entries.Count; i++)
                {
                    if (delivery.Entries[i].EntryId is not { } entryId)
                    {
                        continue;
                    }

                    json.WriteStartObject();
                    json.WriteString("entryId", entryId);
                    WriteStatus(json, outcomes[i], reasons[i]);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }
            else
            {
                WriteStatus(json, outcomes[0], reasons[0]);
            }

            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteStatus(Utf8JsonWriter json, DeliveryOutcome outcome, string? reason)
    {
        json.WriteString("status", StatusText(outcome));
        if (reason is not null)
        {
            // daprd ignores unknown fields; a person reading the exchange sees why.
            json.WriteString("reason", reason);
        }
    }

    private static string StatusText(DeliveryOutcome outcome) => outcome switch
    {
        DeliveryOutcome.Success => "SUCCESS",
        DeliveryOutcome.Drop => "DROP",
        _ => "RETRY",
    };

    private Task RefuseTooLargeAsync(HttpContext context) =>
        RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, "too_large",
            $"delivery body over CloudProxy:Transport:MaxDeliveryBytes ({_options.MaxDeliveryBytes} bytes)");

    private async Task RefuseAsync(HttpContext context, int status, string reason, string detail)
    {
        _metrics.DeliveryRefused.WithLabels(reason).Inc();
        Log.DeliveryRefused(_logger, context.Request.Path, status, detail);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("status", status == StatusCodes.Status404NotFound ? "DROP" : "RETRY");
            json.WriteString("reason", detail);
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static async Task<ReadResult> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            // Consume nothing, examine everything: the next read returns the whole body so far plus more.
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(DaprLogEvents.DeliveryDropped, LogLevel.Warning,
            "Dapr delivery on topic {Topic} (entry {EntryId}) answered DROP ({Reason}): {Detail}")]
        public static partial void DeliveryDropped(ILogger logger, string topic, string? entryId, string reason, string detail);

        [LoggerMessage(DaprLogEvents.DeliveryRefused, LogLevel.Warning, "Dapr delivery to {Path} refused with {Status}: {Detail}")]
        public static partial void DeliveryRefused(ILogger logger, PathString path, int status, string detail);

        [LoggerMessage(DaprLogEvents.HandlerFailed, LogLevel.Error,
            "Envelope handler for topic {Topic} threw on a batch of {Count}; answering RETRY")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, string topic, int count);

        [LoggerMessage(DaprLogEvents.BulkEntryWithoutId, LogLevel.Warning,
            "Dapr bulk delivery on topic {Topic} has an entry without entryId; it cannot be answered and is skipped")]
        public static partial void BulkEntryWithoutId(ILogger logger, string topic);
    }
}

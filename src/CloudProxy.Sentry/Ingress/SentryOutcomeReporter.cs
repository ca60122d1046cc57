using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Outbox;
using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Sentry.Ingress;

/// <summary>
/// Outcomes as client reports: what the ingress refuses under a rate limit (an upstream's limit mirrored here,
/// with that limit's reason code, or the ingress's own quota, reason <c>cloudproxy_quota</c>) is counted per
/// public key, project, reason and category, and every <c>OutcomeFlushSeconds</c> one envelope per key and
/// project with a <c>client_report</c> item (<c>rate_limited_events</c>) goes through the outbox to every
/// upstream, key and project mapped like any envelope. This is what Relay does in proxy mode
/// (<c>EmitOutcomes::AsClientReports</c>, <c>ClientReportOutcomeProducer</c> in getsentry/relay
/// relay-server/src/services/outcome.rs at 814c9356f9e92d8e49b063442463ae290b9f185f): only rate-limited and
/// filtered outcomes can be client reports there, so refusals as invalid or too large are counted in
/// <see cref="SentryMetricNames.Refusals"/> but not reported. Quantities as Relay's <c>Item::quantities</c>:
/// one per item, attachments also in bytes (attachment) and count (attachment_item), logs in log_item and
/// log_byte.
/// </summary>
internal sealed class SentryOutcomeReporter : BackgroundService
{
    /// <summary>The reason of refusals under the ingress's own quota (Sentry has no code for a proxy's quota).</summary>
    public const string QuotaReason = "cloudproxy_quota";

    private readonly ConcurrentDictionary<(string Key, string Project, string Reason, string Category), long> _pending = new();
    private readonly IOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly string _topic;
    private readonly bool _enabled;
    private readonly TimeSpan _interval;
    private readonly Counter _reported;
    private readonly Counter _lost;

    public SentryOutcomeReporter(IOutbox outbox, IOptions<SentryOptions> options, TimeProvider time, IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        _outbox = outbox;
        _time = time;
        _topic = options.Value.Topic;
        _enabled = options.Value.Ingress.OutcomeReports;
        _interval = TimeSpan.FromSeconds(Math.Clamp(options.Value.Ingress.OutcomeFlushSeconds, 0.05, 3600));
        _reported = metrics.CreateCounter(SentryMetricNames.OutcomesReported, "Quantities the Sentry ingress refused under a rate limit, reported upstream as client reports.", ["reason", "category"]);
        _lost = metrics.CreateCounter(SentryMetricNames.OutcomeReportsLost, "Client-report envelopes the Sentry ingress could not queue.");
    }

    /// <summary>Counts what one refused request held, by category; a request without key or project id cannot be reported.</summary>
    public void RateLimited(string? key, string? project, string? reason, SentryEndpointInfo endpoint, ReadOnlySpan<byte> body)
    {
        if (!_enabled || string.IsNullOrEmpty(key) || string.IsNullOrEmpty(project))
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(endpoint);
        reason ??= string.Empty;
        switch (endpoint.Payload)
        {
            case SentryPayload.Envelope:
                if (!SentryEnvelopeSplit.TryReadItems(body, out _, out var items))
                {
                    return;
                }

                foreach (var item in items)
                {
                    switch (item.Category)
                    {
                        case SentryCategories.Attachment:
                            Add(key, project, reason, "attachment", Math.Max(1, item.PayloadLength));
                            Add(key, project, reason, "attachment_item", 1);
                            break;
                        case SentryCategories.LogItem:
                            Add(key, project, reason, "log_item", 1);
                            Add(key, project, reason, "log_byte", Math.Max(1, item.PayloadLength));
                            break;
                        default:
                            if (SentryCategoryNames.NameOf(item.Category) is { } name)
                            {
                                Add(key, project, reason, name, 1);
                            }

                            break;
                    }
                }

                break;
            case SentryPayload.StoreEvent:
                Add(key, project, reason, SentryPayloadReader.TryReadStoreEventId(body, out _, out var isTransaction, out _) && isTransaction ? "transaction" : "error", 1);
                break;
            default:
                if (endpoint.OutcomeCategory is { } category)
                {
                    Add(key, project, reason, category, 1);
                }

                if (endpoint.BodyIsAttachment)
                {
                    Add(key, project, reason, "attachment", Math.Max(1, body.Length));
                    Add(key, project, reason, "attachment_item", 1);
                }

                break;
        }
    }

    /// <summary>Queues one client-report envelope per key and project for what was counted since the last flush.</summary>
    public async Task FlushAsync()
    {
        var taken = new List<((string Key, string Project, string Reason, string Category) Slot, long Quantity)>();
        foreach (var slot in _pending.Keys)
        {
            if (_pending.TryRemove(slot, out var quantity) && quantity > 0)
            {
                taken.Add((slot, quantity));
            }
        }

        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var group in taken.GroupBy(t => (t.Slot.Key, t.Slot.Project)))
        {
            var report = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["timestamp"] = timestamp,
                ["rate_limited_events"] = group.Select(g => new Dictionary<string, object>
                {
                    ["reason"] = g.Slot.Reason,
                    ["category"] = g.Slot.Category,
                    ["quantity"] = g.Quantity,
                }).ToArray(),
            });
            var itemHeader = Encoding.UTF8.GetBytes($"{{}}\n{{\"type\":\"client_report\",\"length\":{report.Length.ToString(CultureInfo.InvariantCulture)}}}\n");
            var (key, project) = group.Key;
            var envelope = new Envelope
            {
                Topic = _topic,
                Kind = SentryEnvelopeHeaders.EnvelopeKind,
                Key = key,
                ReceivedAt = _time.GetUtcNow(),
                Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
                {
                    [SentryEnvelopeHeaders.Path] = $"/api/{project}/envelope/",
                    [SentryEnvelopeHeaders.Query] = $"?sentry_key={key}&sentry_version=7&sentry_client=cloudproxy",
                    [SentryEnvelopeHeaders.AuthSource] = SentryAuthReader.NameOf(SentryAuthSource.Query),
                    [SentryEnvelopeHeaders.ContentType] = "application/x-sentry-envelope",
                    [SentryEnvelopeHeaders.Project] = project,
                    [SentryEnvelopeHeaders.Categories] = ((int)SentryCategories.Internal).ToString(CultureInfo.InvariantCulture),
                },
                Payload = (byte[])[.. itemHeader, .. report, (byte)'\n'],
            };
            if (await _outbox.EnqueueAsync(envelope) == OutboxResult.Refused)
            {
                _lost.Inc();
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_enabled)
        {
            await FlushAsync();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync flushes what is left.
        }
    }

    private void Add(string key, string project, string reason, string category, long quantity)
    {
        _pending.AddOrUpdate((key.ToLowerInvariant(), project, reason, category), quantity, (_, q) => q + quantity);
        _reported.WithLabels(reason, category).Inc(quantity);
    }
}

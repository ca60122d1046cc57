using System.Globalization;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Delivery;

/// <summary>One quarantined envelope as <c>/_status</c> lists it.</summary>
public sealed record QuarantineEntry(DateTimeOffset At, string Topic, string Kind, string? Key, string Reason, int Bytes);

/// <summary>
/// Where what can never be delivered goes instead of being thrown away: an envelope a forwarder refused for good
/// (malformed, unknown kind), one the broker can never take (too large, invalid), bytes that no longer decode.
/// Kept on disk (<c>spool/quarantine/</c>, bounded by <c>CloudProxy:Spool:QuarantineMaxBytes</c>; past it the
/// oldest entries are deleted and counted as lost), counted by reason, the latest shown on <c>/_status</c>.
/// An operator can read the files back with the same log code; nothing replays them by itself.
/// </summary>
public sealed partial class Quarantine
{
    public const string ReasonHeader = "cloudproxy-quarantine-reason";
    public const string QuarantinedAtHeader = "cloudproxy-quarantined-at";
    private const int RecentCount = 20;

    private readonly long _maxBytes;
    private readonly CoreMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<Quarantine> _logger;
    private readonly Queue<QuarantineEntry> _recent = new();
    private readonly SegmentLog _log;

    public Quarantine(LogStore store, IOptions<SpoolOptions> options, CoreMetrics metrics, TimeProvider time, ILogger<Quarantine> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        _maxBytes = options.Value.QuarantineMaxBytes;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _log = store.Open(LogStore.QuarantineFolder, leaveReserve: false, "quarantine");
    }

    /// <summary>Entries kept (this run and earlier ones).</summary>
    public long Count => _log.PendingRecords;

    public long Bytes => _log.DiskBytes;

    public IReadOnlyList<QuarantineEntry> Recent
    {
        get
        {
            lock (_recent)
            {
                return [.. _recent.Reverse()];
            }
        }
    }

    /// <summary>Keeps <paramref name="envelope"/> (or, when it did not decode, its <paramref name="raw"/> bytes) with the reason.</summary>
    public async ValueTask KeepAsync(string topic, Envelope? envelope, ReadOnlyMemory<byte> raw, string reason)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var now = _time.GetUtcNow();
        var headers = new Dictionary<string, string>(envelope?.Headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
        {
            [ReasonHeader] = reason,
            [QuarantinedAtHeader] = now.ToString("O", CultureInfo.InvariantCulture),
        };
        var kept = new Envelope
        {
            Topic = topic,
            Kind = envelope?.Kind ?? "undecodable",
            Key = envelope?.Key,
            ReceivedAt = envelope?.ReceivedAt ?? now,
            TraceParent = envelope?.TraceParent,
            TraceState = envelope?.TraceState,
            Headers = headers,
            Payload = envelope?.Payload ?? raw,
        };

        var log = _log;
        while (log.DiskBytes + EnvelopeCodec.GetEncodedLength(kept) > _maxBytes && log.DropOldestSegment() is var dropped and > 0)
        {
            _metrics.Lost.WithLabels("quarantine_evicted").Inc(dropped);
        }

        _metrics.Quarantined.WithLabels(topic, reason).Inc();
        if (await log.AppendAsync(kept) != AppendResult.Written)
        {
            _metrics.Lost.WithLabels("quarantine_full").Inc();
        }

        lock (_recent)
        {
            _recent.Enqueue(new QuarantineEntry(now, topic, kept.Kind, kept.Key, reason, kept.Payload.Length));
            while (_recent.Count > RecentCount)
            {
                _recent.Dequeue();
            }
        }

        Log.Quarantined(_logger, topic, kept.Kind, reason);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.Quarantined, Level = LogLevel.Warning, Message = "An envelope of topic {Topic} (kind {Kind}) can never be delivered ({Reason}); kept in the quarantine")]
        public static partial void Quarantined(ILogger logger, string topic, string kind, string reason);
    }
}

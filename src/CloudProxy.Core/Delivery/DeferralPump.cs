using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Storage;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Delivery;

/// <summary>
/// Offers deferred envelopes to their forwarder again, one loop per deferral log. The head of a log is always
/// the next one due; the loop waits for it, then takes every envelope that is due (up to a batch):
/// <list type="bullet">
/// <item>Success / Drop: done (committed).</item>
/// <item>Retry: moved on to the next level's log (a longer wait), then done here; so a rate-limited envelope
/// never holds up the others behind it.</item>
/// <item>Unavailable for the whole batch (the upstream is still down): kept in place, probed again after the
/// level's delay, growing; nothing is rewritten while an outage lasts.</item>
/// </list>
/// </summary>
internal sealed partial class DeferralPump : BackgroundService
{
    private readonly Deferrals _deferrals;
    private readonly DeliveryGate _gate;
    private readonly Quarantine _quarantine;
    private readonly CoreMetrics _metrics;
    private readonly DeferralOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeferralPump> _logger;

    public DeferralPump(Deferrals deferrals, DeliveryGate gate, Quarantine quarantine, CoreMetrics metrics, IOptions<DeferralOptions> options, TimeProvider time, ILogger<DeferralPump> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _deferrals = deferrals;
        _gate = gate;
        _quarantine = quarantine;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<Task>();
        try
        {
            await foreach (var level in _deferrals.Opened.ReadAllAsync(stoppingToken))
            {
                if (_gate.Handles(level.Topic))
                {
                    loops.Add(Task.Run(() => RunAsync(level, stoppingToken), CancellationToken.None));
                }
                else if (level.Log.PendingRecords > 0)
                {
                    Log.NoForwarder(_logger, level.Log.PendingRecords, level.Topic);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(loops);
    }

    private async Task RunAsync(DeferralLevel level, CancellationToken stop)
    {
        var held = new List<LogRecord>();
        var probe = level.Delay;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (held.Count == 0)
                {
                    await level.Log.WaitToReadAsync(stop);
                    level.Log.Read(held, _options.BatchSize);
                    continue;
                }

                var wait = DateTimeOffset.FromUnixTimeMilliseconds(held[0].Stamp) - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stop);
                }

                var due = CountDue(held);
                var kept = await OfferAsync(level, held, due, stop);
                if (kept)
                {
                    // Still down: the same envelopes again after a longer wait; nothing is rewritten meanwhile.
                    await Task.Delay(probe, _time, stop);
                    probe = TimeSpan.FromTicks(Math.Min(probe.Ticks * 2, _deferrals.Delays[^1].Ticks));
                    continue;
                }

                probe = level.Delay;
                held.RemoveRange(0, due);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private int CountDue(List<LogRecord> held)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = 1;
        while (due < held.Count && held[due].Stamp <= now)
        {
            due++;
        }

        return due;
    }

    /// <summary>Offers the first <paramref name="due"/> records; true when they must stay where they are (probe later).</summary>
    private async Task<bool> OfferAsync(DeferralLevel level, List<LogRecord> held, int due, CancellationToken stop)
    {
        var envelopes = new List<Envelope>(due);
        for (var i = 0; i < due; i++)
        {
            if (held[i].Envelope is { } envelope)
            {
                envelopes.Add(envelope);
            }
            else
            {
                // Passed its CRC but no longer decodes (a format change): kept aside, never lost.
                await _quarantine.KeepAsync(level.Topic, null, held[i].Raw, "undecodable");
            }
        }

        level.Log.MarkInFlight(held[due - 1].End);
        var outcomes = envelopes.Count > 0 ? await _gate.HandleAsync(level.Topic, envelopes, stop) : [];
        if (outcomes.Length > 0 && Array.TrueForAll(outcomes, o => o == DeliveryOutcome.Unavailable))
        {
            return true;
        }

        var moved = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i] is not (DeliveryOutcome.Retry or DeliveryOutcome.Unavailable))
            {
                continue;
            }

            if (!await _deferrals.DeferAsync(envelopes[i], level.Level + 1))
            {
                // No room to move it on: keep the whole batch here; what was delivered or moved on already
                // will be offered twice, and is counted.
                _metrics.Duplicates.WithLabels(level.Topic, "deferral_full").Inc(moved + outcomes.Count(o => o == DeliveryOutcome.Success));
                return true;
            }

            moved++;
        }

        _metrics.Replayed.WithLabels(level.Topic).Inc(envelopes.Count);
        level.Log.Commit(held[due - 1].End, due);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.NoHandler, Level = LogLevel.Warning, Message = "{Count} deferred envelopes of topic {Topic} wait on disk, but no forwarder of that topic runs in this process")]
        public static partial void NoForwarder(ILogger logger, long count, string topic);
    }
}

using System.Collections.Concurrent;
using CloudProxy.Core.Delivery;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Storage;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Outbox;

/// <summary>
/// Reads each topic's outbox log in order and hands batches to the transport, one loop per topic, so one
/// topic's stalled transport never holds up another's. A batch is committed (and its log space freed) only
/// once the transport took it; what it did not take stays at the head and is offered again after an
/// exponential back-off. Before a batch is handed on its end is marked in flight, so after a crash the
/// envelopes that may have gone through already are counted as possible duplicates. At shutdown it keeps
/// publishing for at most the drain timeout; what is left stays in the log for the next start.
/// </summary>
internal sealed partial class OutboxPump : BackgroundService
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LingerStep = TimeSpan.FromMilliseconds(1);

    private readonly DurableOutbox _outbox;
    private readonly IEnvelopePublisher _publisher;
    private readonly Quarantine _quarantine;
    private readonly CoreMetrics _metrics;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OutboxPump> _logger;
    private readonly ConcurrentDictionary<string, long> _failingSince = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _unreachableSince = new(StringComparer.Ordinal);

    public OutboxPump(
        DurableOutbox outbox,
        IEnvelopePublisher publisher,
        Quarantine quarantine,
        CoreMetrics metrics,
        IOptions<OutboxOptions> options,
        TimeProvider time,
        ILogger<OutboxPump> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _outbox = outbox;
        _publisher = publisher;
        _quarantine = quarantine;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _metrics.PublisherHealthy.Set(1);
    }

    /// <summary>True while no topic's publishing is failing.</summary>
    public bool Healthy => _failingSince.IsEmpty;

    /// <summary>Since when the longest-failing topic has been failing (ticks of <see cref="TimeProvider.GetUtcNow"/>), or null.</summary>
    public long? FailingSinceTicks => _failingSince.IsEmpty ? null : _failingSince.Values.Min();

    /// <summary>
    /// Since when the transport itself could not be reached (the publisher threw: the sidecar or broker is down),
    /// or null. Distinct from a forwarder holding a batch because its upstream is down, which the embedded
    /// transport reports as entries not taken: that one is no reason to refuse traffic, since the outbox keeps it.
    /// </summary>
    public long? TransportFailingSinceTicks => _unreachableSince.IsEmpty ? null : _unreachableSince.Values.Min();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var drain = new CancellationTokenSource();
        using var registration = stoppingToken.Register(() => drain.CancelAfter(TimeSpan.FromSeconds(_options.DrainTimeoutSeconds)));
        var loops = new List<Task>();
        try
        {
            await foreach (var topic in _outbox.Opened.ReadAllAsync(stoppingToken))
            {
                loops.Add(Task.Run(() => RunAsync(topic, stoppingToken, drain.Token), CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(loops);
        if (drain.IsCancellationRequested && _outbox.Topics.Any(t => t.Log.HasUnread))
        {
            Log.DrainTimedOut(_logger, _options.DrainTimeoutSeconds);
        }
    }

    /// <summary>One topic: until stopped and drained (or the drain timeout passes).</summary>
    private async Task RunAsync(OutboxTopic topic, CancellationToken stop, CancellationToken abort)
    {
        var held = new HeldBatch();
        var backoff = TimeSpan.Zero;
        while (!abort.IsCancellationRequested)
        {
            try
            {
                if (held.Count == 0 && !await FillAsync(topic, held.Records, stop))
                {
                    return;
                }

                var unreachable = await PublishAsync(topic, held, abort);
                if (unreachable)
                {
                    _unreachableSince.TryAdd(topic.Name, _time.GetUtcNow().UtcTicks);
                }
                else
                {
                    _unreachableSince.TryRemove(topic.Name, out _);
                }

                if (held.Count == 0)
                {
                    backoff = TimeSpan.Zero;
                    MarkHealthy(topic.Name);
                    continue;
                }

                backoff = backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(_options.MaxBackoffSeconds).Ticks));
                MarkFailing(topic.Name);
                await Task.Delay(backoff, _time, abort);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Waits for records and takes a batch, lingering for company when it is short. False once stopped and drained.</summary>
    private async Task<bool> FillAsync(OutboxTopic topic, List<LogRecord> held, CancellationToken stop)
    {
        var log = topic.Log;
        while (!log.HasUnread)
        {
            if (stop.IsCancellationRequested)
            {
                return false;
            }

            try
            {
                await log.WaitToReadAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopping: drain what is there, then end.
            }
        }

        if (_options.LingerMilliseconds > 0 && !stop.IsCancellationRequested && log.UnreadRecords < _options.BatchSize)
        {
            var started = _time.GetTimestamp();
            var linger = TimeSpan.FromMilliseconds(_options.LingerMilliseconds);
            while (log.UnreadRecords < _options.BatchSize && _time.GetElapsedTime(started) < linger && !stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(LingerStep, _time, stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        }

        log.Read(held, _options.BatchSize);
        return true;
    }

    /// <summary>
    /// Offers what is not yet taken of <paramref name="held"/> to the transport, remembers what it took (so a
    /// retry never publishes those again), and commits the records from the start that are all taken.
    /// Returns whether the transport could not be reached at all.
    /// </summary>
    private async Task<bool> PublishAsync(OutboxTopic topic, HeldBatch held, CancellationToken cancellationToken)
    {
        held.Sync();
        var envelopes = new List<Envelope>(held.Count);
        var positions = new List<int>(held.Count);
        for (var i = 0; i < held.Count; i++)
        {
            if (held.Taken[i])
            {
                continue;
            }

            if (held.Records[i].Envelope is { } envelope)
            {
                envelopes.Add(envelope);
                positions.Add(i);
            }
            else
            {
                // Passed its CRC but does not decode (written by a newer version?): kept aside, never lost.
                await _quarantine.KeepAsync(topic.Name, null, held.Records[i].Raw, "undecodable");
                held.Taken[i] = true;
            }
        }

        var unreachable = false;
        if (envelopes.Count > 0)
        {
            topic.Log.MarkInFlight(held.Records[^1].End);
            IReadOnlyList<int> failed = [];
            try
            {
                failed = await _publisher.PublishAsync(topic.Name, envelopes, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed = [.. Enumerable.Range(0, envelopes.Count)];
                unreachable = true;
                if (!_failingSince.ContainsKey(topic.Name))
                {
                    Log.PublishFailed(_logger, topic.Name, envelopes.Count, ex);
                }
            }

            var notTaken = new HashSet<int>(failed);
            for (var j = 0; j < positions.Count; j++)
            {
                held.Taken[positions[j]] = !notTaken.Contains(j);
            }

            _metrics.Published.WithLabels(topic.Name).Inc(envelopes.Count - notTaken.Count);
            _metrics.PublishFailures.WithLabels(topic.Name).Inc(notTaken.Count);
        }

        var done = held.TakenPrefix();
        if (done > 0)
        {
            topic.Log.Commit(held.Records[done - 1].End, done);
            held.RemoveFirst(done);
        }

        return unreachable;
    }

    private void MarkHealthy(string topic)
    {
        if (_failingSince.TryRemove(topic, out _))
        {
            Log.Recovered(_logger, topic);
            if (_failingSince.IsEmpty)
            {
                _metrics.PublisherHealthy.Set(1);
            }
        }
    }

    private void MarkFailing(string topic)
    {
        _failingSince.TryAdd(topic, _time.GetUtcNow().UtcTicks);
        _metrics.PublisherHealthy.Set(0);
    }

    /// <summary>The records a topic's loop is working on, and which of them the transport has taken.</summary>
    private sealed class HeldBatch
    {
        public List<LogRecord> Records { get; } = [];

        public List<bool> Taken { get; } = [];

        public int Count => Records.Count;

        /// <summary>Records just read are not taken yet.</summary>
        public void Sync()
        {
            while (Taken.Count < Records.Count)
            {
                Taken.Add(false);
            }
        }

        public int TakenPrefix()
        {
            var done = 0;
            while (done < Records.Count && Taken[done])
            {
                done++;
            }

            return done;
        }

        public void RemoveFirst(int count)
        {
            Records.RemoveRange(0, count);
            Taken.RemoveRange(0, count);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.PublishFailed, Level = LogLevel.Warning, Message = "Publishing {Count} envelopes of topic {Topic} failed; they stay in the log and are offered again with back-off")]
        public static partial void PublishFailed(ILogger logger, string topic, int count, Exception exception);

        [LoggerMessage(EventId = LogEvents.PublisherRecovered, Level = LogLevel.Information, Message = "Publishing topic {Topic} works again")]
        public static partial void Recovered(ILogger logger, string topic);

        [LoggerMessage(EventId = LogEvents.DrainTimedOut, Level = LogLevel.Warning, Message = "Shutdown drain took longer than {Seconds}s; what is left stays in the log for the next start")]
        public static partial void DrainTimedOut(ILogger logger, double seconds);
    }
}

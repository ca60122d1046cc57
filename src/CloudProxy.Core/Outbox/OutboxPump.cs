using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Outbox;

/// <summary>
/// The single reader of the outbox and the spool. Publishes memory first, then replays the spool when memory
/// is empty. When the transport fails (it throws, or a broker refuses entries) the failed envelopes go to the
/// spool and the pump backs off exponentially; while failing, the outbox spills new envelopes straight to disk.
/// When a forwarder in this process defers envelopes (<see cref="IEnvelopePublisher.FailuresAreDeferrals"/>:
/// its upstream is down or rate-limited) only those are spooled, everything else keeps flowing, and the spool
/// is replayed with a back-off of its own. At shutdown it publishes what it can within the drain timeout and
/// spools the rest, so a restart replays it.
/// </summary>
public sealed partial class OutboxPump : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LingerStep = TimeSpan.FromMilliseconds(1);

    private readonly Outbox _outbox;
    private readonly ISpool _spool;
    private readonly IEnvelopePublisher _publisher;
    private readonly CoreMetrics _metrics;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OutboxPump> _logger;
    private List<Envelope> _held = [];
    private TimeSpan _backoff = TimeSpan.Zero;
    private TimeSpan _replayBackoff = TimeSpan.Zero;
    private long _replayFailedAt;

    public OutboxPump(
        Outbox outbox,
        ISpool spool,
        IEnvelopePublisher publisher,
        CoreMetrics metrics,
        IOptions<OutboxOptions> options,
        TimeProvider time,
        ILogger<OutboxPump> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _outbox = outbox;
        _spool = spool;
        _publisher = publisher;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _metrics.PublisherHealthy.Set(1);
    }

    public bool Healthy => _backoff == TimeSpan.Zero;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await DrainAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var worked = await PumpOnceAsync(stoppingToken);
                if (!Healthy)
                {
                    await Task.Delay(_backoff, _time, stoppingToken);
                }
                else if (!worked)
                {
                    await WaitForWorkAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: DrainAsync takes over.
        }
    }

    /// <summary>One step: held envelopes, else a memory batch, else a spool batch. False when idle.</summary>
    private async Task<bool> PumpOnceAsync(CancellationToken cancellationToken)
    {
        var batch = await TakeLingeringBatchAsync(cancellationToken);
        if (batch.Count > 0)
        {
            await PublishMemoryBatchAsync(batch, cancellationToken);
            return true;
        }

        if (_replayBackoff > TimeSpan.Zero && _time.GetElapsedTime(_replayFailedAt) < _replayBackoff)
        {
            // Deferred envelopes at the head of the spool: not again before their back-off has passed.
            return false;
        }

        var spooled = _spool.ReadOldest(_options.BatchSize, out var corrupt);
        if (corrupt > 0)
        {
            _metrics.Lost.WithLabels("spool_corrupt").Inc(corrupt);
            Log.SpoolCorrupt(_logger, corrupt);
        }

        if (spooled.Count == 0)
        {
            return corrupt > 0;
        }

        var envelopes = spooled.Select(s => s.Envelope).ToList();
        var (failed, _) = await PublishAsync(envelopes, cancellationToken);
        var done = new List<long>(spooled.Count);
        for (var i = 0; i < spooled.Count; i++)
        {
            if (!failed.Contains(i))
            {
                done.Add(spooled[i].Id);
                _metrics.Replayed.WithLabels(spooled[i].Envelope.Topic).Inc();
            }
        }

        _spool.Delete(done);
        if (failed.Count > 0)
        {
            _replayBackoff = NextBackoff(_replayBackoff);
            _replayFailedAt = _time.GetTimestamp();
        }
        else
        {
            _replayBackoff = TimeSpan.Zero;
        }

        return true;
    }

    /// <summary>
    /// A batch short of <see cref="OutboxOptions.BatchSize"/> waits up to <see cref="OutboxOptions.LingerMilliseconds"/>
    /// for company (Kafka's linger.ms): under load that turns many small publish calls into few large ones, each
    /// of which costs both this process and the sidecar a fixed price; when idle it costs one envelope a few
    /// milliseconds. It stops waiting as soon as enough envelopes are waiting to fill the batch.
    /// </summary>
    private async Task<List<Envelope>> TakeLingeringBatchAsync(CancellationToken cancellationToken)
    {
        var batch = TakeMemoryBatch();
        if (batch.Count == 0 || batch.Count >= _options.BatchSize || _options.LingerMilliseconds <= 0)
        {
            return batch;
        }

        // Held, not local: if shutdown cancels the wait, DrainAsync still finds these envelopes.
        _held = batch;
        var started = _time.GetTimestamp();
        var linger = TimeSpan.FromMilliseconds(_options.LingerMilliseconds);
        while (_outbox.Count < _options.BatchSize - batch.Count && _time.GetElapsedTime(started) < linger)
        {
            await Task.Delay(LingerStep, _time, cancellationToken);
        }

        return TakeMemoryBatch();
    }

    private List<Envelope> TakeMemoryBatch()
    {
        var batch = _held;
        _held = [];
        _outbox.Drain(batch, Math.Max(_options.BatchSize, batch.Count));
        return batch;
    }

    private async Task PublishMemoryBatchAsync(List<Envelope> batch, CancellationToken cancellationToken)
    {
        var (failed, transportFailed) = await PublishAsync(batch, cancellationToken);
        if (failed.Count == 0)
        {
            return;
        }

        var rest = failed.Order().Select(i => batch[i]).ToList();
        if (_spool.TryAppend(rest))
        {
            var reason = transportFailed ? "publish_failed" : "deferred";
            foreach (var envelope in rest)
            {
                _metrics.Spooled.WithLabels(envelope.Topic, reason).Inc();
            }
        }
        else
        {
            // The spool is full: keep them in memory and try first next time. Ingress refuses meanwhile.
            _held = rest;
        }
    }

    /// <summary>
    /// Publishes per topic; returns the indexes (into <paramref name="batch"/>) that did not go through, and
    /// whether the transport failed (it threw, or a broker refused entries) rather than a forwarder deferring them.
    /// </summary>
    private async Task<(HashSet<int> Failed, bool TransportFailed)> PublishAsync(List<Envelope> batch, CancellationToken cancellationToken)
    {
        var failed = new HashSet<int>();
        var transportFailed = false;
        foreach (var group in Enumerable.Range(0, batch.Count).GroupBy(i => batch[i].Topic, StringComparer.Ordinal))
        {
            var indexes = group.ToArray();
            var envelopes = indexes.Select(i => batch[i]).ToArray();
            try
            {
                var rejected = await _publisher.PublishAsync(group.Key, envelopes, cancellationToken);
                foreach (var r in rejected)
                {
                    failed.Add(indexes[r]);
                }

                transportFailed |= rejected.Count > 0 && !_publisher.FailuresAreDeferrals;

                _metrics.Published.WithLabels(group.Key).Inc(envelopes.Length - rejected.Count);
                _metrics.PublishFailures.WithLabels(group.Key).Inc(rejected.Count);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed.UnionWith(indexes);
                transportFailed = true;
                _metrics.PublishFailures.WithLabels(group.Key).Inc(envelopes.Length);
                Log.PublishFailed(_logger, group.Key, envelopes.Length, ex);
            }
            catch (OperationCanceledException)
            {
                failed.UnionWith(indexes);
                transportFailed = true;
            }
        }

        UpdateHealth(!transportFailed, cancellationToken);
        return (failed, transportFailed);
    }

    private void UpdateHealth(bool succeeded, CancellationToken cancellationToken)
    {
        if (succeeded)
        {
            if (!Healthy)
            {
                Log.Recovered(_logger);
            }

            _backoff = TimeSpan.Zero;
            _outbox.SpillToSpool = false;
            _metrics.PublisherHealthy.Set(1);
        }
        else if (!cancellationToken.IsCancellationRequested)
        {
            _backoff = NextBackoff(_backoff);
            _outbox.SpillToSpool = true;
            _metrics.PublisherHealthy.Set(0);
        }
    }

    private TimeSpan NextBackoff(TimeSpan current)
    {
        var max = TimeSpan.FromSeconds(_options.MaxBackoffSeconds);
        return current == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(current.Ticks * 2, max.Ticks));
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        // Wake on new envelopes, or after a short poll: ingress may have written to the spool directly.
        using var poll = new CancellationTokenSource(IdlePoll, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, poll.Token);
        try
        {
            await _outbox.WaitToReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DrainAsync(CancellationToken hostToken)
    {
        _outbox.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.DrainTimeoutSeconds), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hostToken, timeout.Token);
        while (!linked.IsCancellationRequested)
        {
            var batch = TakeMemoryBatch();
            if (batch.Count == 0)
            {
                break;
            }

            await PublishMemoryBatchAsync(batch, linked.Token);
            if (!Healthy)
            {
                break;
            }
        }

        var rest = TakeMemoryBatch();
        while (rest.Count > 0)
        {
            if (!_spool.TryAppend(rest))
            {
                _metrics.Lost.WithLabels("spool_full_at_shutdown").Inc(rest.Count);
                Log.LostAtShutdown(_logger, rest.Count);
            }

            rest = TakeMemoryBatch();
        }

        if (timeout.IsCancellationRequested)
        {
            Log.DrainTimedOut(_logger, _options.DrainTimeoutSeconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.PublishFailed, Level = LogLevel.Warning, Message = "Publishing {Count} envelopes to topic {Topic} failed; spooling and backing off")]
        public static partial void PublishFailed(ILogger logger, string topic, int count, Exception exception);

        [LoggerMessage(EventId = LogEvents.PublisherRecovered, Level = LogLevel.Information, Message = "Publisher recovered; replaying the spool")]
        public static partial void Recovered(ILogger logger);

        [LoggerMessage(EventId = LogEvents.SpoolCorrupt, Level = LogLevel.Error, Message = "Deleted {Count} spool rows that could not be decoded")]
        public static partial void SpoolCorrupt(ILogger logger, int count);

        [LoggerMessage(EventId = LogEvents.DrainTimedOut, Level = LogLevel.Warning, Message = "Shutdown drain took longer than {Seconds}s; the rest was spooled")]
        public static partial void DrainTimedOut(ILogger logger, double seconds);

        [LoggerMessage(EventId = LogEvents.LostAtShutdown, Level = LogLevel.Critical, Message = "{Count} accepted envelopes lost at shutdown: the spool is full")]
        public static partial void LostAtShutdown(ILogger logger, int count);
    }
}

namespace CloudProxy.Sentry.Forwarder;

/// <summary>
/// Additive-increase / multiplicative-decrease concurrency for one upstream, as TCP does for its window: each
/// success adds 1/limit (about +1 per round of requests); a 429/503/timeout halves it; a latency rise (the
/// recent average above <c>riseFactor</c> × the long-run average) cuts it by a quarter. Decreases happen at
/// most once per recent round-trip, so one burst of failures counts once. Always within [min, max].
/// </summary>
internal sealed class SentryAimdLimiter
{
    private const double LongAlpha = 0.02;
    private const double ShortAlpha = 0.25;

    /// <summary>Below this the latency signal is noise (loopback, a fast LAN).</summary>
    private static readonly TimeSpan LatencyFloor = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly int _min;
    private readonly int _max;
    private readonly double _riseFactor;
    private readonly TimeProvider _time;
    private double _limit;
    private int _inFlight;
    private double _longMs = -1;
    private double _shortMs = -1;
    private long _lastDecrease;

    public SentryAimdLimiter(int initial, int min, int max, double riseFactor, TimeProvider time)
    {
        _min = Math.Max(1, min);
        _max = Math.Max(_min, max);
        _limit = Math.Clamp(initial, _min, _max);
        _riseFactor = riseFactor;
        _time = time;
        _lastDecrease = time.GetTimestamp();
    }

    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return (int)_limit;
            }
        }
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_inFlight < (int)_limit && _waiters.Count == 0)
            {
                _inFlight++;
                return ValueTask.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
            return new ValueTask(WaitAsync(waiter, cancellationToken));
        }
    }

    /// <summary>Ends one request. <paramref name="overloaded"/>: 429, 503 or a timeout.</summary>
    public void Release(bool succeeded, bool overloaded, TimeSpan latency)
    {
        lock (_gate)
        {
            _inFlight--;
            if (overloaded)
            {
                DecreaseLocked(0.5);
            }
            else if (succeeded)
            {
                var ms = latency.TotalMilliseconds;
                _longMs = _longMs < 0 ? ms : _longMs + (LongAlpha * (ms - _longMs));
                _shortMs = _shortMs < 0 ? ms : _shortMs + (ShortAlpha * (ms - _shortMs));
                if (_shortMs > LatencyFloor.TotalMilliseconds && _shortMs > _riseFactor * _longMs)
                {
                    DecreaseLocked(0.75);
                }
                else
                {
                    _limit = Math.Min(_max, _limit + (1 / _limit));
                }
            }

            WakeLocked();
        }
    }

    private void DecreaseLocked(double factor)
    {
        var spacing = TimeSpan.FromMilliseconds(Math.Max(50, _shortMs));
        if (_time.GetElapsedTime(_lastDecrease) < spacing)
        {
            return;
        }

        _lastDecrease = _time.GetTimestamp();
        _limit = Math.Max(_min, _limit * factor);
    }

    private void WakeLocked()
    {
        while (_inFlight < (int)_limit && _waiters.TryDequeue(out var waiter))
        {
            if (waiter.TrySetResult())
            {
                _inFlight++;
            }
        }
    }

    private async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                waiter.TrySetCanceled(cancellationToken);
            }
        });
        await waiter.Task;
    }
}

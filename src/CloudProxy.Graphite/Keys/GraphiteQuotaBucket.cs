namespace CloudProxy.Graphite.Keys;

/// <summary>
/// A token bucket in points: it fills at <see cref="PointsPerSecond"/> up to <see cref="Burst"/>. A batch is
/// taken whole or not at all. A batch larger than the burst is taken when the bucket is full, leaving it in
/// debt (negative), so a client whose batches are bigger than the burst still flows at the rate instead of
/// being refused forever. Time comes from a <see cref="TimeProvider"/>'s monotonic timestamp.
/// </summary>
internal sealed class GraphiteQuotaBucket
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private double _tokens;
    private long _stamp;

    public GraphiteQuotaBucket(double pointsPerSecond, double burst, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Check(pointsPerSecond, burst);
        _time = time;
        PointsPerSecond = pointsPerSecond;
        Burst = burst;
        _tokens = burst;
        _stamp = time.GetTimestamp();
    }

    public double PointsPerSecond { get; private set; }

    public double Burst { get; private set; }

    /// <summary>The tokens now (after refilling; negative while in debt).</summary>
    public double Tokens
    {
        get
        {
            lock (_gate)
            {
                Refill();
                return _tokens;
            }
        }
    }

    /// <summary>
    /// Changes rate and burst and starts the bucket full at the new burst (debt forgiven): an operator who
    /// raises a refused key's quota sees its next batch pass, and a lowered quota holds from its new burst on.
    /// </summary>
    public void Reconfigure(double pointsPerSecond, double burst)
    {
        Check(pointsPerSecond, burst);
        lock (_gate)
        {
            Refill();
            PointsPerSecond = pointsPerSecond;
            Burst = burst;
            _tokens = burst;
        }
    }

    /// <summary>
    /// Takes <paramref name="points"/> when the bucket holds them (or is full, for a batch above the burst);
    /// otherwise takes nothing and says how long until it would.
    /// </summary>
    public bool TryTake(int points, out TimeSpan wait)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(points);
        if (points == 0)
        {
            wait = TimeSpan.Zero;
            return true;
        }

        lock (_gate)
        {
            Refill();
            var needed = Math.Min(points, Burst);
            if (_tokens >= needed)
            {
                _tokens -= points;
                wait = TimeSpan.Zero;
                return true;
            }

            wait = TimeSpan.FromSeconds((needed - _tokens) / PointsPerSecond);
            return false;
        }
    }

    /// <summary>Gives back points taken for a batch that was not accepted after all (capped at the burst).</summary>
    public void Return(int points)
    {
        lock (_gate)
        {
            Refill();
            _tokens = Math.Min(Burst, _tokens + points);
        }
    }

    /// <summary>Waits (not reading, for the plaintext listener) until the bucket takes the batch.</summary>
    public async Task<TimeSpan> TakeAsync(int points, CancellationToken cancellationToken)
    {
        var waited = TimeSpan.Zero;
        while (!TryTake(points, out var wait))
        {
            // Sleep at least a millisecond so a rounding remainder cannot spin.
            var delay = wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait;
            await Task.Delay(delay, _time, cancellationToken);
            waited += delay;
        }

        return waited;
    }

    /// <summary>Why a rate/burst pair is not a quota, or null.</summary>
    public static string? Problem(double pointsPerSecond, double burst) =>
        !double.IsFinite(pointsPerSecond) || pointsPerSecond <= 0 ? $"points per second must be a positive number (got {pointsPerSecond})"
        : !double.IsFinite(burst) || burst < 1 ? $"burst must be at least 1 point (got {burst})"
        : null;

    private static void Check(double pointsPerSecond, double burst)
    {
        if (Problem(pointsPerSecond, burst) is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(pointsPerSecond), problem);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_stamp, now).TotalSeconds;
        _stamp = now;
        if (elapsed > 0)
        {
            _tokens = Math.Min(Burst, _tokens + (elapsed * PointsPerSecond));
        }
    }
}

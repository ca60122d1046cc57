namespace CloudProxy.Core.Logging;

/// <summary>
/// Rate-limits one log line that repeats (a send that keeps failing, a refusal per request): the first
/// occurrence is written at once, then at most one line per <see cref="Interval"/>, and each line written
/// carries the number of occurrences it stands for (itself and those left out since the previous line).
/// The numbers that matter per occurrence are in metrics; the log only tells that, and how often, it happens.
/// One instance per log site and per thing it is about (an upstream, a destination). Thread-safe; no allocation.
/// </summary>
/// <example><code>
/// if (_sendFailed.ShouldLog(out var count))
/// {
///     Log.SendFailed(_logger, host, port, count, ex.Message);
/// }
/// </code></example>
public sealed class LogThrottle
{
    /// <summary>Between two lines of one throttle. Long enough that an outage writes a few lines a minute, short
    /// enough that a line still says what is happening now.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private long _nextTimestamp = long.MinValue;
    private long _pending;

    public LogThrottle(TimeProvider? time = null, TimeSpan? interval = null)
    {
        _time = time ?? TimeProvider.System;
        Interval = interval ?? DefaultInterval;
        ArgumentOutOfRangeException.ThrowIfLessThan(Interval, TimeSpan.Zero);
        _intervalTicks = (long)(Interval.TotalSeconds * _time.TimestampFrequency);
    }

    public TimeSpan Interval { get; }

    /// <summary>
    /// Records one occurrence. True when a line should be written now; <paramref name="count"/> is then how many
    /// occurrences it stands for (at least 1). False while the interval since the last line has not passed.
    /// </summary>
    public bool ShouldLog(out long count)
    {
        Interlocked.Increment(ref _pending);
        var now = _time.GetTimestamp();
        var next = Interlocked.Read(ref _nextTimestamp);
        if (now < next || Interlocked.CompareExchange(ref _nextTimestamp, now + _intervalTicks, next) != next)
        {
            count = 0;
            return false;
        }

        count = Math.Max(1, Interlocked.Exchange(ref _pending, 0));
        return true;
    }
}

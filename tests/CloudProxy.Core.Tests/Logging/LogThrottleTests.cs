using CloudProxy.Core.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.Core.Tests.Logging;

public class LogThrottleTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_first_occurrence_is_written_at_once_and_stands_for_itself()
    {
        var throttle = new LogThrottle(_time, TimeSpan.FromSeconds(30));
        Assert.True(throttle.ShouldLog(out var count));
        Assert.Equal(1, count);
    }

    [Fact]
    public void Occurrences_within_the_interval_are_left_out_and_counted_in_the_next_line()
    {
        var throttle = new LogThrottle(_time, TimeSpan.FromSeconds(30));
        Assert.True(throttle.ShouldLog(out _));
        for (var i = 0; i < 999; i++)
        {
            Assert.False(throttle.ShouldLog(out _));
        }

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(throttle.ShouldLog(out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(throttle.ShouldLog(out var count));
        Assert.Equal(1001, count);
    }

    [Fact]
    public void After_a_quiet_interval_the_next_occurrence_is_written_at_once()
    {
        var throttle = new LogThrottle(_time, TimeSpan.FromSeconds(30));
        Assert.True(throttle.ShouldLog(out _));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(throttle.ShouldLog(out var count));
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task Concurrent_occurrences_are_each_counted_in_exactly_one_line()
    {
        var throttle = new LogThrottle(_time, TimeSpan.FromSeconds(30));
        long reported = 0;
        const int Threads = 8;
        const int Each = 20_000;
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < Each; i++)
            {
                if (throttle.ShouldLog(out var count))
                {
                    Interlocked.Add(ref reported, count);
                }

                if (t == 0 && i % 1000 == 0)
                {
                    _time.Advance(TimeSpan.FromSeconds(31));
                }
            }
        })));

        // Whatever is still pending comes out with the next line (plus the occurrence that writes it).
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(throttle.ShouldLog(out var last));
        Assert.Equal(((long)Threads * Each) + 1, reported + last);
    }
}

using CloudProxy.Sentry.Forwarder;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.Sentry.Tests.Forwarder;

public sealed class SentryAimdLimiterTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(2);

    [Fact]
    public async Task Successes_grow_the_limit_up_to_its_maximum()
    {
        var limiter = new SentryAimdLimiter(initial: 2, min: 1, max: 5, riseFactor: 2, new FakeTimeProvider());
        for (var i = 0; i < 200; i++)
        {
            await limiter.AcquireAsync(CancellationToken.None);
            limiter.Release(succeeded: true, overloaded: false, Fast);
        }

        Assert.Equal(5, limiter.Limit);
    }

    [Fact]
    public async Task Overload_halves_the_limit_once_per_round_trip_never_below_the_minimum()
    {
        var time = new FakeTimeProvider();
        var limiter = new SentryAimdLimiter(initial: 16, min: 3, max: 64, riseFactor: 2, time);
        time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            await limiter.AcquireAsync(CancellationToken.None);
            limiter.Release(succeeded: false, overloaded: true, Fast);
        }

        Assert.Equal(8, limiter.Limit); // a burst of 429s counts once
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await limiter.AcquireAsync(CancellationToken.None);
            limiter.Release(succeeded: false, overloaded: true, Fast);
        }

        Assert.Equal(3, limiter.Limit);
    }

    [Fact]
    public async Task Rising_latency_cuts_the_limit()
    {
        var time = new FakeTimeProvider();
        var limiter = new SentryAimdLimiter(initial: 10, min: 1, max: 10, riseFactor: 2, time);
        for (var i = 0; i < 50; i++)
        {
            await limiter.AcquireAsync(CancellationToken.None);
            limiter.Release(succeeded: true, overloaded: false, TimeSpan.FromMilliseconds(5));
        }

        for (var i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await limiter.AcquireAsync(CancellationToken.None);
            limiter.Release(succeeded: true, overloaded: false, TimeSpan.FromMilliseconds(400));
        }

        Assert.True(limiter.Limit < 10, $"limit {limiter.Limit}");
    }

    [Fact]
    public async Task Requests_over_the_limit_wait_for_a_release()
    {
        var limiter = new SentryAimdLimiter(initial: 1, min: 1, max: 1, riseFactor: 2, new FakeTimeProvider());
        await limiter.AcquireAsync(CancellationToken.None);

        var second = limiter.AcquireAsync(CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        limiter.Release(succeeded: true, overloaded: false, Fast);

        await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, limiter.InFlight);
    }

    [Fact]
    public async Task A_cancelled_wait_gives_up_its_place()
    {
        var limiter = new SentryAimdLimiter(initial: 1, min: 1, max: 1, riseFactor: 2, new FakeTimeProvider());
        await limiter.AcquireAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var waiting = limiter.AcquireAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        limiter.Release(succeeded: true, overloaded: false, Fast);

        Assert.Equal(0, limiter.InFlight);
    }
}

using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.ReverseProxy.Tests.RateLimiting;

public class ProxyRateLimitMathTests
{
    [Fact]
    public void A_token_bucket_counts_down_and_says_when_the_next_token_comes()
    {
        var limit = new ProxyRateLimit(60, 3, RateLimitAlgorithm.TokenBucket);
        double tokens = 3;
        long last = 0;

        var first = ProxyRateLimitMath.TakeToken(ref tokens, ref last, 0, limit);
        ProxyRateLimitMath.TakeToken(ref tokens, ref last, 0, limit);
        var third = ProxyRateLimitMath.TakeToken(ref tokens, ref last, 0, limit);
        var refused = ProxyRateLimitMath.TakeToken(ref tokens, ref last, 0, limit);
        var halfway = ProxyRateLimitMath.TakeToken(ref tokens, ref last, 500, limit);

        Assert.Equal(new ProxyRateLimitDecision(true, 2, TimeSpan.FromSeconds(1)), first);
        Assert.Equal(new ProxyRateLimitDecision(true, 0, TimeSpan.FromSeconds(1)), third);
        Assert.Equal(new ProxyRateLimitDecision(false, 0, TimeSpan.FromSeconds(1)), refused);
        Assert.Equal(new ProxyRateLimitDecision(false, 0, TimeSpan.FromMilliseconds(500)), halfway);
    }

    [Fact]
    public void A_token_bucket_refills_to_its_burst_and_no_further()
    {
        var limit = new ProxyRateLimit(60, 3, RateLimitAlgorithm.TokenBucket);
        double tokens = 3;
        long last = 0;
        ProxyRateLimitMath.TakeToken(ref tokens, ref last, 0, limit);

        var later = ProxyRateLimitMath.TakeToken(ref tokens, ref last, 60_000, limit);

        Assert.Equal(2, later.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(1), later.Reset);
    }

    [Fact]
    public void A_sliding_window_frees_a_permit_as_the_past_minute_slides_out()
    {
        var limit = new ProxyRateLimit(3, 3, RateLimitAlgorithm.SlidingWindow);
        long window = 0;
        int current = 0, previous = 0;

        var first = ProxyRateLimitMath.TakeSliding(ref window, ref current, ref previous, 0, limit);
        ProxyRateLimitMath.TakeSliding(ref window, ref current, ref previous, 0, limit);
        var third = ProxyRateLimitMath.TakeSliding(ref window, ref current, ref previous, 0, limit);
        var refused = ProxyRateLimitMath.TakeSliding(ref window, ref current, ref previous, 0, limit);
        // A third into the next minute, the three requests weigh 2: one permit is back.
        var next = ProxyRateLimitMath.TakeSliding(ref window, ref current, ref previous, 80_000, limit);

        // One request at 0 weighs fully until 60 s, then fades out by 120 s.
        Assert.Equal(new ProxyRateLimitDecision(true, 2, TimeSpan.FromSeconds(120)), first);
        Assert.Equal(new ProxyRateLimitDecision(true, 0, TimeSpan.FromSeconds(80)), third);
        Assert.Equal(new ProxyRateLimitDecision(false, 0, TimeSpan.FromSeconds(80)), refused);
        Assert.True(next.Allowed);
        Assert.Equal(0, next.Remaining);
    }

    [Fact]
    public async Task The_memory_store_keeps_one_state_per_partition_and_limit_and_forgets_idle_ones()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var store = new ProxyMemoryRateLimitStore(time);
        var limit = new ProxyRateLimit(2, 2, RateLimitAlgorithm.TokenBucket);

        var a1 = await store.TryAcquireAsync("a", limit, CancellationToken.None);
        var a2 = await store.TryAcquireAsync("a", limit, CancellationToken.None);
        var a3 = await store.TryAcquireAsync("a", limit, CancellationToken.None);
        var b1 = await store.TryAcquireAsync("b", limit, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5));
        await store.TryAcquireAsync("c", limit, CancellationToken.None);

        Assert.Equal([true, true, false, true], new[] { a1.Allowed, a2.Allowed, a3.Allowed, b1.Allowed });
        Assert.Equal(TimeSpan.FromSeconds(30), a3.Reset);
        Assert.Equal(1, store.Count);
    }
}

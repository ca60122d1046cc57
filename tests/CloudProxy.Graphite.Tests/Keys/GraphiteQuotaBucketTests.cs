using CloudProxy.Graphite.Ingress;
using CloudProxy.Graphite.Keys;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace CloudProxy.Graphite.Tests.Keys;

public sealed class GraphiteQuotaBucketTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_full_bucket_takes_the_burst_then_refuses_and_says_how_long_until_the_batch_fits()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 100, burst: 500, _time);
        Assert.True(bucket.TryTake(300, out _));
        Assert.True(bucket.TryTake(200, out _));
        Assert.False(bucket.TryTake(150, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1.5), wait);
        Assert.Equal(0, bucket.Tokens);

        // Nothing was taken by the refusal: 1.5 s later exactly the 150 points are there.
        _time.Advance(TimeSpan.FromSeconds(1.4));
        Assert.False(bucket.TryTake(150, out wait));
        Assert.Equal(0.1, wait.TotalSeconds, 6);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(bucket.TryTake(150, out _));
        Assert.Equal(0, bucket.Tokens, 6);
    }

    [Fact]
    public void The_bucket_refills_at_the_rate_up_to_the_burst_and_never_beyond()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 10, burst: 50, _time);
        Assert.True(bucket.TryTake(50, out _));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(20, bucket.Tokens, 6);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(50, bucket.Tokens, 6);
        Assert.False(bucket.TryTake(51, out _) && bucket.Tokens > 0);
    }

    [Fact]
    public void Over_a_long_run_the_points_taken_stay_within_rate_times_time_plus_burst()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 1000, burst: 2000, _time);
        long taken = 0;
        for (var step = 0; step < 10_000; step++)
        {
            if (bucket.TryTake(70, out _))
            {
                taken += 70;
            }

            _time.Advance(TimeSpan.FromMilliseconds(3));
        }

        // 30 s at 1000/s plus the initial burst, and the client (asking for 23,333/s) got close to it.
        Assert.InRange(taken, 30_000, 32_000);
    }

    [Fact]
    public void A_batch_larger_than_the_burst_is_taken_from_a_full_bucket_and_the_debt_holds_the_next_ones_back()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 100, burst: 100, _time);
        Assert.True(bucket.TryTake(400, out _));
        Assert.Equal(-300, bucket.Tokens);
        Assert.False(bucket.TryTake(400, out var wait));

        // Until the bucket is full again: 300 of debt plus 100 of burst at 100/s.
        Assert.Equal(TimeSpan.FromSeconds(4), wait);
        _time.Advance(wait);
        Assert.True(bucket.TryTake(400, out _));
    }

    [Fact]
    public void An_empty_batch_always_passes_even_in_debt()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 1, burst: 1, _time);
        Assert.True(bucket.TryTake(50, out _));
        Assert.True(bucket.TryTake(0, out _));
    }

    [Fact]
    public void Returned_points_are_available_again_capped_at_the_burst()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 10, burst: 100, _time);
        Assert.True(bucket.TryTake(80, out _));
        bucket.Return(80);
        Assert.Equal(100, bucket.Tokens);
        bucket.Return(80);
        Assert.Equal(100, bucket.Tokens);
    }

    [Fact]
    public void Reconfiguring_starts_the_bucket_full_at_the_new_burst_and_refills_at_the_new_rate()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 10, burst: 100, _time);
        Assert.True(bucket.TryTake(300, out _));
        Assert.False(bucket.TryTake(1, out _));
        bucket.Reconfigure(1000, 1000);
        Assert.Equal(1000, bucket.Tokens);
        Assert.True(bucket.TryTake(1000, out _));
        _time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(500, bucket.Tokens, 6);
        bucket.Reconfigure(1, 5);
        Assert.Equal(5, bucket.Tokens);
        Assert.True(bucket.TryTake(5, out _));
        Assert.False(bucket.TryTake(1, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
    }

    [Fact]
    public async Task TakeAsync_waits_for_the_fake_clock_and_reports_how_long()
    {
        var bucket = new GraphiteQuotaBucket(pointsPerSecond: 100, burst: 100, _time);
        Assert.True(bucket.TryTake(100, out _));
        var take = bucket.TakeAsync(50, CancellationToken.None);
        Assert.False(take.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(0.4));
        Assert.False(take.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(TimeSpan.FromSeconds(0.5), await take.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(-1, 10)]
    [InlineData(double.NaN, 10)]
    [InlineData(double.PositiveInfinity, 10)]
    [InlineData(10, 0.5)]
    public void Rates_and_bursts_that_are_no_quota_are_refused(double rate, double burst)
    {
        Assert.NotNull(GraphiteQuotaBucket.Problem(rate, burst));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GraphiteQuotaBucket(rate, burst, _time));
    }

    [Fact]
    public void The_registry_follows_the_key_record_and_drops_the_bucket_when_the_quota_goes()
    {
        var quotas = new GraphiteQuotas(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), Options.Create(new GraphiteOptions()), _time);
        Assert.Null(quotas.Plaintext);
        var limited = new GraphiteApiKey { Name = "team", Key = "k", PointsPerSecond = 10 };
        var bucket = quotas.For(limited)!;
        Assert.Equal((10, 10), (bucket.PointsPerSecond, bucket.Burst));
        Assert.True(bucket.TryTake(10, out _));

        var raised = new GraphiteApiKey { Name = "team", Key = "k2", PointsPerSecond = 50, Burst = 200 };
        Assert.Same(bucket, quotas.For(raised));
        Assert.Equal((50, 200), (bucket.PointsPerSecond, bucket.Burst));
        Assert.Equal(200, bucket.Tokens);

        // The same quota again (every cache reload) leaves the bucket alone.
        Assert.True(bucket.TryTake(200, out _));
        Assert.Same(bucket, quotas.For(raised));
        Assert.Equal(0, bucket.Tokens);

        Assert.Null(quotas.For(new GraphiteApiKey { Name = "team", Key = "k2" }));
        Assert.NotSame(bucket, quotas.For(raised));
    }

    [Fact]
    public void The_plaintext_listener_gets_a_bucket_only_with_a_rate()
    {
        var options = Options.Create(new GraphiteOptions { Gateway = { PlaintextPointsPerSecond = 25 } });
        var quotas = new GraphiteQuotas(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), options, _time);
        Assert.Equal((25, 25), (quotas.Plaintext!.PointsPerSecond, quotas.Plaintext.Burst));
        Assert.Equal(GraphitePlaintextListener.KeyName, "_plaintext");
    }
}

using CloudProxy.ReverseProxy.Backpressure;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.ReverseProxy.Tests.Backpressure;

public class ProxyCongestionWindowTests
{
    private static readonly FakeTimeProvider Time = new();

    private static Task<bool> TakeAsync(ProxyCongestionWindow window) =>
        window.AcquireAsync(TimeSpan.Zero, Time, CancellationToken.None);

    [Fact]
    public async Task Calls_above_the_window_are_refused_when_they_may_not_wait()
    {
        var window = new ProxyCongestionWindow(1, 10, 2, 0.5);

        Assert.True(await TakeAsync(window));
        Assert.True(await TakeAsync(window));
        Assert.False(await TakeAsync(window));
        Assert.Equal(2, window.InFlight);
    }

    [Fact]
    public async Task A_waiting_call_gets_the_slot_a_finished_call_frees()
    {
        var window = new ProxyCongestionWindow(1, 10, 1, 0.5);
        await TakeAsync(window);
        var waiting = window.AcquireAsync(TimeSpan.FromSeconds(5), Time, CancellationToken.None);

        Assert.False(waiting.IsCompleted);
        window.Release(CallOutcome.Success);

        Assert.True(await waiting);
        Assert.Equal(1, window.InFlight);
    }

    [Fact]
    public async Task A_waiting_call_is_refused_when_its_wait_ends()
    {
        var window = new ProxyCongestionWindow(1, 10, 1, 0.5);
        await TakeAsync(window);
        var waiting = window.AcquireAsync(TimeSpan.FromMilliseconds(100), Time, CancellationToken.None);

        Time.Advance(TimeSpan.FromMilliseconds(150));

        Assert.False(await waiting);
        Assert.Equal(1, window.InFlight);
    }

    [Fact]
    public async Task The_window_grows_by_one_per_round_of_saturated_success()
    {
        var window = new ProxyCongestionWindow(1, 10, 2, 0.5);

        for (var round = 0; round < 2; round++)
        {
            var width = window.Window;
            for (var i = 0; i < width; i++)
            {
                Assert.True(await TakeAsync(window));
            }

            for (var i = 0; i < width; i++)
            {
                window.Release(CallOutcome.Success);
            }
        }

        Assert.Equal(4, window.Window);
    }

    [Fact]
    public async Task Unsaturated_success_does_not_grow_the_window()
    {
        var window = new ProxyCongestionWindow(1, 10, 4, 0.5);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(await TakeAsync(window));
            window.Release(CallOutcome.Success);
        }

        Assert.Equal(4, window.Window);
    }

    [Fact]
    public async Task A_burst_of_back_end_503s_is_one_cut_and_the_window_never_goes_below_min()
    {
        var window = new ProxyCongestionWindow(3, 16, 16, 0.5);
        for (var i = 0; i < 5; i++)
        {
            await TakeAsync(window);
        }

        for (var i = 0; i < 5; i++)
        {
            window.Release(CallOutcome.BackendStatus);
        }

        Assert.Equal(8, window.Window);
        window.SetQueryFiring(true);
        window.SetQueryFiring(true);
        window.SetQueryFiring(true);
        Assert.Equal(3, window.Window);
    }

    [Fact]
    public async Task While_a_query_fires_the_window_does_not_grow()
    {
        var window = new ProxyCongestionWindow(1, 10, 2, 0.5);
        window.SetQueryFiring(true);

        for (var i = 0; i < 10; i++)
        {
            Assert.True(await TakeAsync(window));
            window.Release(CallOutcome.Success);
        }

        Assert.Equal(1, window.Window);
    }

    [Theory]
    [InlineData(1.0, 11)]
    [InlineData(0.5, 6)]
    [InlineData(0.0, 1)]
    public void The_allowance_caps_the_window_in_proportion(double allowance, int expected)
    {
        var window = new ProxyCongestionWindow(1, 11, 11, 0.5);

        window.SetAllowance(allowance);

        Assert.Equal(expected, window.Window);
    }

    [Fact]
    public async Task With_the_window_full_a_sheddable_call_is_refused_at_once_while_others_wait()
    {
        var window = new ProxyCongestionWindow(1, 10, 1, 0.5);
        await TakeAsync(window);

        var shed = window.AcquireAsync(TimeSpan.FromSeconds(5), Time, CancellationToken.None, ProxyCriticality.Sheddable);
        var waiting = window.AcquireAsync(TimeSpan.FromSeconds(5), Time, CancellationToken.None, ProxyCriticality.Default);

        Assert.True(shed.IsCompleted);
        Assert.False(await shed);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, window.Waiting(ProxyCriticality.Default));
    }

    [Fact]
    public async Task A_freed_slot_goes_to_a_waiting_critical_call_before_an_earlier_default_one()
    {
        var window = new ProxyCongestionWindow(1, 10, 1, 0.5);
        await TakeAsync(window);
        var normal = window.AcquireAsync(TimeSpan.FromSeconds(5), Time, CancellationToken.None, ProxyCriticality.Default);
        var critical = window.AcquireAsync(TimeSpan.FromSeconds(5), Time, CancellationToken.None, ProxyCriticality.Critical);

        window.Release(CallOutcome.BackendStatus);

        Assert.True(await critical);
        Assert.False(normal.IsCompleted);
        window.Release(CallOutcome.BackendStatus);
        Assert.True(await normal);
    }

    [Fact]
    public void Failing_queries_walk_the_window_down_to_the_fail_safe_value_step_by_step()
    {
        var window = new ProxyCongestionWindow(1, 9, 9, 0.5);
        var seen = new List<int>();

        for (var i = 0; i < 4; i++)
        {
            window.MoveTowardFailSafe(3, 2);
            seen.Add(window.Window);
        }

        Assert.Equal([7, 5, 3, 3], seen);
        Assert.True(window.FailingSafe);
    }

    [Fact]
    public void Failing_queries_lift_a_window_a_firing_query_had_cut_but_not_past_the_fail_safe_value()
    {
        var window = new ProxyCongestionWindow(1, 9, 9, 0.5);
        for (var i = 0; i < 4; i++)
        {
            window.SetQueryFiring(true);
        }

        window.SetQueryFiring(false);
        var seen = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            window.MoveTowardFailSafe(4, 2);
            seen.Add(window.Window);
        }

        Assert.Equal([3, 4, 4], seen);
    }

    [Fact]
    public async Task While_failing_safe_the_back_ends_own_signals_still_cut_and_hold_the_walk_up()
    {
        var window = new ProxyCongestionWindow(1, 9, 4, 0.5);
        window.MoveTowardFailSafe(4, 2);
        await TakeAsync(window);
        window.Release(CallOutcome.BackendStatus);

        window.MoveTowardFailSafe(4, 2);
        var afterCut = window.Window;
        window.MoveTowardFailSafe(4, 2);

        Assert.Equal(2, afterCut);
        Assert.Equal(4, window.Window);
    }

    [Fact]
    public async Task While_failing_safe_success_does_not_grow_the_window_past_the_fail_safe_value()
    {
        var window = new ProxyCongestionWindow(1, 9, 3, 0.5);
        window.MoveTowardFailSafe(3, 2);

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 3; i++)
            {
                await TakeAsync(window);
            }

            for (var i = 0; i < 3; i++)
            {
                window.Release(CallOutcome.Success);
            }
        }

        Assert.Equal(3, window.Window);
        window.EndFailSafe();
        for (var i = 0; i < 3; i++)
        {
            await TakeAsync(window);
        }

        for (var i = 0; i < 3; i++)
        {
            window.Release(CallOutcome.Success);
        }

        Assert.Equal(4, window.Window);
        Assert.False(window.FailingSafe);
    }
}

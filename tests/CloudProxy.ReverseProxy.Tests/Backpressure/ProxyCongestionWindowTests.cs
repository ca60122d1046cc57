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
}

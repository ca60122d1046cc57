using CloudProxy.ReverseProxy.Backpressure;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace CloudProxy.ReverseProxy.Tests.Backpressure;

public class ProxyJitterMiddlewareTests
{
    private static (ProxyJitterMiddleware Middleware, FakeTimeProvider Time, Func<int> Calls) Create(double maxDelayMs)
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var options = Options.Create(new ReverseProxyOptions { Jitter = { MaxDelayMs = maxDelayMs } });
        var metrics = new ProxyMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        var middleware = new ProxyJitterMiddleware(_ => { calls++; return Task.CompletedTask; }, metrics, options, new Random(7), time);
        return (middleware, time, () => calls);
    }

    [Fact]
    public async Task A_request_waits_a_random_delay_within_the_bound_before_going_on()
    {
        var (middleware, time, calls) = Create(1000);

        var pending = middleware.InvokeAsync(new DefaultHttpContext());
        Assert.Equal(0, calls());
        time.Advance(TimeSpan.FromMilliseconds(1000));
        await pending;

        Assert.Equal(1, calls());
    }

    [Fact]
    public async Task A_critical_request_skips_the_delay()
    {
        var (middleware, _, calls) = Create(1000);
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Request-Criticality"] = "CRITICAL";

        await middleware.InvokeAsync(context);

        Assert.Equal(1, calls());
    }

    [Fact]
    public async Task A_request_cancelled_during_its_delay_never_goes_on()
    {
        var (middleware, _, calls) = Create(1000);
        using var abort = new CancellationTokenSource();
        var context = new DefaultHttpContext { RequestAborted = abort.Token };

        var pending = middleware.InvokeAsync(context);
        await abort.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Equal(0, calls());
    }
}

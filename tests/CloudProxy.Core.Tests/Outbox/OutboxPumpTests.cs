using CloudProxy.Core.Metrics;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Core.Tests.Outbox;

public class OutboxPumpTests
{
    [Fact]
    public async Task Every_accepted_envelope_reaches_the_forwarder_once()
    {
        await using var pipeline = await PipelineHarness.StartAsync();
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(OutboxResult.Accepted, pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"m{i}")));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 1000));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"m{i}").Order(), pipeline.Sink.Received.Order());
        Assert.Equal(1000, pipeline.Metric(CoreMetricNames.Delivered, "outcome", "success"));
    }

    [Fact]
    public async Task A_short_batch_waits_for_company_and_leaves_as_soon_as_it_is_full()
    {
        // A minute of linger: the first envelope can only leave with the others, and only "the batch is full"
        // explains a delivery within Eventually's 15 s. No step depends on how fast this machine is.
        await using var pipeline = await PipelineHarness.StartAsync(settings:
            [("CloudProxy:Outbox:LingerMilliseconds", "60000"), ("CloudProxy:Outbox:BatchSize", "10")]);
        pipeline.Outbox.TryEnqueue(PipelineHarness.Make("first"));
        await Task.Delay(200);
        Assert.Empty(pipeline.Sink.Received);
        for (var i = 0; i < 9; i++)
        {
            pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"late{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 10), "the full batch waited for the linger to end");
        Assert.Equal([10], pipeline.Sink.BatchSizes);
    }

    [Fact]
    public async Task A_batch_that_never_fills_leaves_when_the_linger_ends()
    {
        await using var pipeline = await PipelineHarness.StartAsync(settings: [("CloudProxy:Outbox:LingerMilliseconds", "3000")]);
        for (var i = 0; i < 3; i++)
        {
            pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"m{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 3));
        Assert.Equal([3], pipeline.Sink.BatchSizes);
    }

    [Fact]
    public async Task Forwarder_down_spools_then_replays_everything_exactly_once_when_it_returns()
    {
        var sink = new SinkHandler("t") { Down = true };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 300; i++)
        {
            Assert.NotEqual(OutboxResult.Refused, pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"m{i}")));
        }

        var spool = pipeline.Services.GetRequiredService<ISpool>();
        Assert.True(await Eventually.TrueAsync(() => spool.Count == 300), $"spool holds {spool.Count}");
        Assert.Empty(sink.Received);

        sink.Down = false;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 300 && spool.Count == 0));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}").Order(), sink.Received.Order());
        Assert.Equal(300, pipeline.Metric(CoreMetricNames.Replayed));
    }

    [Fact]
    public async Task Envelopes_a_forwarder_defers_are_spooled_alone_while_the_rest_keeps_flowing_through_memory()
    {
        var sink = new SinkHandler("t") { DeferPrefix = "later" };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink);
        var spool = pipeline.Services.GetRequiredService<ISpool>();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(OutboxResult.Accepted, pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"later{i}")));
        }

        Assert.True(await Eventually.TrueAsync(() => spool.Count == 50), $"spool holds {spool.Count}");

        // The deferrals did not make the outbox spill: new envelopes still go to memory and are delivered.
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(OutboxResult.Accepted, pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"now{i}")));
        }

        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 200));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"now{i}").Order(), sink.Received.Order());
        Assert.Equal(50, pipeline.Metric(CoreMetricNames.Spooled, "reason", "deferred"));
        Assert.Equal(0, pipeline.Metric(CoreMetricNames.Spooled, "reason", "publisher_down"));
        Assert.Equal(1, pipeline.Metric(CoreMetricNames.PublisherHealthy));

        // The forwarder takes them again: every deferred envelope arrives, once.
        sink.DeferPrefix = null;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 250 && spool.Count == 0));
        await Task.Delay(300);
        Assert.Equal(
            Enumerable.Range(0, 200).Select(i => $"now{i}").Concat(Enumerable.Range(0, 50).Select(i => $"later{i}")).Order(),
            sink.Received.Order());
    }

    [Fact]
    public async Task Spooled_envelopes_survive_a_restart_and_are_delivered_by_the_next_process()
    {
        var sink = new SinkHandler("t") { Down = true };
        var first = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 50; i++)
        {
            first.Outbox.TryEnqueue(PipelineHarness.Make($"m{i}"));
        }

        await first.DisposeAsync();
        Assert.Empty(sink.Received);

        var up = new SinkHandler("t");
        await using var second = await PipelineHarness.StartAsync(first.SpoolPath, up);
        Assert.True(await Eventually.TrueAsync(() => up.Received.Count >= 50));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}").Order(), up.Received.Order());
    }

    [Fact]
    public async Task When_memory_and_spool_are_full_new_envelopes_are_refused_and_counted()
    {
        var sink = new SinkHandler("t") { Down = true };
        await using var pipeline = await PipelineHarness.StartAsync(
            sink: sink,
            settings: [("CloudProxy:Outbox:Capacity", "10"), ("CloudProxy:Spool:MaxBytes", "2000")]);
        var results = Enumerable.Range(0, 200)
            .Select(i => pipeline.Outbox.TryEnqueue(PipelineHarness.Make(new string('x', 100) + i)))
            .ToList();

        var refused = results.Count(r => r == OutboxResult.Refused);
        Assert.InRange(refused, 1, 199);
        Assert.Equal(refused, pipeline.Metric(CoreMetricNames.Refused, "topic", "t"));

        // Everything not refused is delivered once the forwarder is back.
        var accepted = 200 - refused;
        sink.Down = false;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= accepted));
        await Task.Delay(300);
        Assert.Equal(accepted, sink.Received.Count);
    }

    [Fact]
    public async Task Malformed_envelopes_dropped_by_the_forwarder_are_counted_not_retried()
    {
        await using var pipeline = await PipelineHarness.StartAsync();
        pipeline.Outbox.TryEnqueue(PipelineHarness.Make("poison"));
        pipeline.Outbox.TryEnqueue(PipelineHarness.Make("good"));
        Assert.True(await Eventually.TrueAsync(() => pipeline.Metric(CoreMetricNames.Delivered, "outcome", "drop") == 1));
        Assert.Equal(["good"], pipeline.Sink.Received);
        Assert.Equal(0, pipeline.Services.GetRequiredService<ISpool>().Count);
    }

    [Fact]
    public async Task Shutdown_spools_what_the_drain_could_not_publish()
    {
        var sink = new SinkHandler("t") { Down = true };
        var pipeline = await PipelineHarness.StartAsync(sink: sink, settings: [("CloudProxy:Spool:MaxBytes", "100000000")]);
        for (var i = 0; i < 20; i++)
        {
            pipeline.Outbox.TryEnqueue(PipelineHarness.Make($"m{i}"));
        }

        await pipeline.DisposeAsync();
        await using var reopened = await PipelineHarness.StartAsync(pipeline.SpoolPath, new SinkHandler("t") { Down = true });
        var spool = reopened.Services.GetRequiredService<ISpool>();
        Assert.Equal(20, spool.Count);
    }
}

using CloudProxy.Core.Delivery;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Transport;
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
            Assert.Equal(OutboxResult.Accepted, await pipeline.EnqueueAsync($"m{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 1000));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"m{i}").Order(), pipeline.Sink.Received.Order());
        Assert.Equal(1000, pipeline.Metric(CoreMetricNames.Delivered, "outcome", "success"));
        Assert.True(await Eventually.TrueAsync(() => pipeline.Logs.Count == 0), $"{pipeline.Logs.Count} still in the outbox log");
    }

    [Fact]
    public async Task A_short_batch_waits_for_company_and_leaves_as_soon_as_it_is_full()
    {
        // A minute of linger: the first envelope can only leave with the others, and only "the batch is full"
        // explains a delivery within Eventually's 15 s. No step depends on how fast this machine is.
        await using var pipeline = await PipelineHarness.StartAsync(settings:
            [("CloudProxy:Outbox:LingerMilliseconds", "60000"), ("CloudProxy:Outbox:BatchSize", "10")]);
        await pipeline.EnqueueAsync("first");
        await Task.Delay(200);
        Assert.Empty(pipeline.Sink.Received);
        for (var i = 0; i < 9; i++)
        {
            await pipeline.EnqueueAsync($"late{i}");
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
            await pipeline.EnqueueAsync($"m{i}");
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 3));
        Assert.Equal([3], pipeline.Sink.BatchSizes);
    }

    [Fact]
    public async Task While_the_forwarder_is_down_envelopes_wait_in_the_outbox_log_and_all_arrive_once_when_it_returns()
    {
        var sink = new SinkHandler("t") { Down = true };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal(OutboxResult.Accepted, await pipeline.EnqueueAsync($"m{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => sink.BatchSizes.Count >= 2), "the pump did not probe the forwarder");
        Assert.Equal(300, pipeline.Logs.Count);
        Assert.Empty(sink.Received);

        // A forwarder that is down as a whole costs no second write: nothing went to the deferral logs.
        Assert.Equal(0, pipeline.Deferrals.Count);
        Assert.Equal(0, pipeline.Metric(CoreMetricNames.Deferred));

        sink.Down = false;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 300 && pipeline.Logs.Count == 0));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}").Order(), sink.Received.Order());
    }

    [Fact]
    public async Task Envelopes_a_forwarder_defers_wait_in_the_deferral_log_while_the_rest_keeps_flowing()
    {
        var sink = new SinkHandler("t") { DeferPrefix = "later" };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(OutboxResult.Accepted, await pipeline.EnqueueAsync($"later{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Metric(CoreMetricNames.Deferred) == 50), "not deferred");
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(OutboxResult.Accepted, await pipeline.EnqueueAsync($"now{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 200));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"now{i}").Order(), sink.Received.Order());
        Assert.Equal(1, pipeline.Metric(CoreMetricNames.PublisherHealthy));
        Assert.True(pipeline.Deferrals.Count > 0);

        // The forwarder takes them again: every deferred envelope arrives, once.
        sink.DeferPrefix = null;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 250 && pipeline.Deferrals.Count == 0));
        await Task.Delay(300);
        Assert.Equal(
            Enumerable.Range(0, 200).Select(i => $"now{i}").Concat(Enumerable.Range(0, 50).Select(i => $"later{i}")).Order(),
            sink.Received.Order());
        Assert.True(pipeline.Metric(CoreMetricNames.Replayed) >= 50);
    }

    [Fact]
    public async Task Accepted_envelopes_survive_a_restart_and_are_delivered_by_the_next_process()
    {
        var sink = new SinkHandler("t") { Down = true };
        var first = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 50; i++)
        {
            await first.EnqueueAsync($"m{i}");
        }

        await first.DisposeAsync();
        Assert.Empty(sink.Received);

        var up = new SinkHandler("t");
        await using var second = await PipelineHarness.StartAsync(first.SpoolPath, up);
        Assert.True(await Eventually.TrueAsync(() => up.Received.Count >= 50));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}").Order(), up.Received.Order());
    }

    [Fact]
    public async Task Deferred_envelopes_survive_a_restart_and_are_delivered_by_the_next_process()
    {
        var sink = new SinkHandler("t") { DeferPrefix = "m" };
        var first = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 20; i++)
        {
            await first.EnqueueAsync($"m{i}");
        }

        Assert.True(await Eventually.TrueAsync(() => first.Metric(CoreMetricNames.Deferred) >= 20));
        await first.DisposeAsync();

        var up = new SinkHandler("t");
        await using var second = await PipelineHarness.StartAsync(first.SpoolPath, up);
        Assert.True(await Eventually.TrueAsync(() => up.Received.Count >= 20));
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}").Order(), up.Received.Order());
    }

    [Fact]
    public async Task When_the_spool_is_full_new_envelopes_are_refused_and_counted_and_the_rest_is_delivered()
    {
        var sink = new SinkHandler("t") { Down = true };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink, settings: [("CloudProxy:Spool:MaxBytes", "1048576")]);
        var results = new List<OutboxResult>();
        for (var i = 0; i < 2000; i++)
        {
            results.Add(await pipeline.EnqueueAsync(new string('x', 1000) + i));
        }

        var refused = results.Count(r => r == OutboxResult.Refused);
        Assert.InRange(refused, 1, 1999);
        Assert.Equal(refused, pipeline.Metric(CoreMetricNames.Refused, "topic", "t", "reason", "spool_full"));

        // The files on disk stay within the bound (less the share kept for deferrals).
        var onDisk = Directory.EnumerateFiles(pipeline.SpoolPath, "*.seg", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(onDisk, 800_000, 0.9 * 1048576);

        // Everything not refused is delivered once the forwarder is back.
        var accepted = 2000 - refused;
        sink.Down = false;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= accepted));
        await Task.Delay(300);
        Assert.Equal(accepted, sink.Received.Count);
    }

    [Fact]
    public async Task Envelopes_the_forwarder_drops_are_quarantined_and_counted_not_retried()
    {
        await using var pipeline = await PipelineHarness.StartAsync();
        await pipeline.EnqueueAsync("poison");
        await pipeline.EnqueueAsync("good");
        Assert.True(await Eventually.TrueAsync(() => pipeline.Metric(CoreMetricNames.Quarantined, "reason", "forwarder_refused") == 1));
        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count == 1));
        Assert.Equal(["good"], pipeline.Sink.Received);
        Assert.Equal(1, pipeline.Services.GetRequiredService<Quarantine>().Count);
        Assert.True(await Eventually.TrueAsync(() => pipeline.Logs.Count == 0), $"{pipeline.Logs.Count} left in the outbox log");
    }

    [Fact]
    public async Task What_the_shutdown_drain_could_not_publish_stays_in_the_log_for_the_next_start()
    {
        var sink = new SinkHandler("t") { Down = true };
        var pipeline = await PipelineHarness.StartAsync(sink: sink);
        for (var i = 0; i < 20; i++)
        {
            await pipeline.EnqueueAsync($"m{i}");
        }

        await pipeline.DisposeAsync();
        await using var reopened = await PipelineHarness.StartAsync(pipeline.SpoolPath, new SinkHandler("t") { Down = true });
        Assert.Equal(20, reopened.Logs.Count);
    }

    [Fact]
    public async Task A_broker_delivery_the_forwarder_cannot_take_is_deferred_and_answered_success()
    {
        // What the Dapr subscription does: a delivery cannot be held, so the gate keeps it in the deferral log.
        var sink = new SinkHandler("t") { Down = true };
        await using var pipeline = await PipelineHarness.StartAsync(sink: sink);
        var gate = pipeline.Services.GetRequiredService<DeliveryGate>();
        var batch = Enumerable.Range(0, 5).Select(i => PipelineHarness.Make($"d{i}")).ToList();
        var outcomes = await gate.DeliverAsync("t", batch, canHold: false, CancellationToken.None);
        Assert.All(outcomes, o => Assert.Equal(DeliveryOutcome.Success, o));
        Assert.Equal(5, pipeline.Deferrals.Count);

        sink.Down = false;
        Assert.True(await Eventually.TrueAsync(() => sink.Received.Count >= 5));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"d{i}").Order(), sink.Received.Order());
    }

    [Fact]
    public async Task In_memory_durability_envelopes_are_accepted_at_once_and_delivered()
    {
        await using var pipeline = await PipelineHarness.StartAsync(settings: [("CloudProxy:Outbox:Durability", "Memory")]);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(OutboxResult.Accepted, await pipeline.EnqueueAsync($"m{i}"));
        }

        Assert.True(await Eventually.TrueAsync(() => pipeline.Sink.Received.Count >= 100));
    }
}

using System.Collections.Concurrent;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Status;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace CloudProxy.Core.Tests;

/// <summary>
/// A forwarder stand-in for Core's own tests: it keeps what it is handed; while <see cref="Down"/> it answers
/// Unavailable, as a forwarder whose upstream is unreachable does, and for envelopes starting with
/// <see cref="DeferPrefix"/> Retry, as one whose upstream rate-limits them does.
/// </summary>
public sealed class SinkHandler(string topic) : IEnvelopeHandler
{
    public string Topic { get; } = topic;

    private volatile bool _down;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>While set, envelopes whose text starts with it are answered Retry (one upstream of several down).</summary>
    public string? DeferPrefix
    {
        get => Volatile.Read(ref _deferPrefix);
        set => Volatile.Write(ref _deferPrefix, value);
    }

    private string? _deferPrefix;

    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>How many envelopes each delivery call carried, in order.</summary>
    public ConcurrentQueue<int> BatchSizes { get; } = new();

    public ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        BatchSizes.Enqueue(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (Down)
            {
                outcomes[i] = DeliveryOutcome.Unavailable;
                continue;
            }

            var text = System.Text.Encoding.UTF8.GetString(batch[i].Payload.Span);
            if (DeferPrefix is { } prefix && text.StartsWith(prefix, StringComparison.Ordinal))
            {
                outcomes[i] = DeliveryOutcome.Retry;
                continue;
            }

            if (text.StartsWith("poison", StringComparison.Ordinal))
            {
                outcomes[i] = DeliveryOutcome.Drop;
                continue;
            }

            Received.Enqueue(text);
            outcomes[i] = DeliveryOutcome.Success;
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>The real Core pipeline (outbox logs, pump, deferral logs, embedded transport) in a generic host.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    private readonly IHost _host;

    private PipelineHarness(IHost host, SinkHandler sink, string spoolPath)
    {
        _host = host;
        Sink = sink;
        SpoolPath = spoolPath;
    }

    public SinkHandler Sink { get; }

    public string SpoolPath { get; }

    public IOutbox Outbox => _host.Services.GetRequiredService<IOutbox>();

    public CloudProxy.Core.Outbox.DurableOutbox Logs => _host.Services.GetRequiredService<CloudProxy.Core.Outbox.DurableOutbox>();

    public CloudProxy.Core.Delivery.Deferrals Deferrals => _host.Services.GetRequiredService<CloudProxy.Core.Delivery.Deferrals>();

    public IServiceProvider Services => _host.Services;

    public static async Task<PipelineHarness> StartAsync(string? spoolPath = null, SinkHandler? sink = null, params (string Key, string Value)[] settings)
    {
        spoolPath ??= Path.Combine(Directory.CreateTempSubdirectory("cloudproxy-core-").FullName, "spool");
        sink ??= new SinkHandler("t");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudProxy:Spool:Path"] = spoolPath,
            ["CloudProxy:Outbox:MaxBackoffSeconds"] = "0.2",
            ["CloudProxy:Outbox:DrainTimeoutSeconds"] = "2",
            ["CloudProxy:Deferral:RetryDelaysSeconds"] = "0.2,0.5",
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.Services.AddCloudProxyCore(builder.Configuration, ServiceRoles.FromNames("statsd-ingress", "statsd-forwarder"), new BuildInfo("test", "test", "test"));
        builder.Services.AddSingleton<IEnvelopeHandler>(sink);
        var host = builder.Build();
        await host.StartAsync();
        return new PipelineHarness(host, sink, spoolPath);
    }

    /// <summary>Enqueues and waits until the envelope is durable.</summary>
    public async Task<OutboxResult> EnqueueAsync(string text) => await Outbox.EnqueueAsync(Make(text));

    public static Envelope Make(string text, string topic = "t") => new()
    {
        Topic = topic,
        Kind = "test",
        Payload = System.Text.Encoding.UTF8.GetBytes(text),
    };

    public double Metric(string name, params string[] labels)
    {
        var registry = _host.Services.GetRequiredService<CollectorRegistry>();
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var pairs = labels.Chunk(2).Select(p => (p[0], p[1])).ToArray();
        return CloudProxy.Tests.Common.PrometheusText.Sum(text, name, pairs);
    }

    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace CloudProxy.Core.Telemetry;

/// <summary>
/// With no trace exporter configured, nothing records spans, but the W3C trace context of an incoming
/// request must still reach the envelope. This listener asks ASP.NET Core (and our own source) for
/// activities with propagation data only: ids and parent, no tags, no recording. It costs a fraction of
/// full OpenTelemetry recording on the ingress hot path (bench/statsd measures the difference).
/// </summary>
internal sealed class TraceContextPropagation : IHostedService, IDisposable
{
    private static readonly HashSet<string> Sources = new(StringComparer.Ordinal)
    {
        "Microsoft.AspNetCore", CloudProxyTelemetry.SourceName,
    };

    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => Sources.Contains(source.Name),
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.PropagationData,
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ActivitySource.AddActivityListener(_listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();
}

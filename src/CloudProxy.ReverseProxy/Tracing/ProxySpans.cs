using System.Diagnostics;
using CloudProxy.Core.Telemetry;

namespace CloudProxy.ReverseProxy.Tracing;

/// <summary>
/// The proxy's own spans (cache lookup, rate limit, backpressure wait), started only inside a recorded trace.
/// Without an exporter the host listens for propagation only, and a child span per step would be pure cost:
/// nothing downstream reads it (the back-end call carries the request's context either way).
/// </summary>
internal static class ProxySpans
{
    public static Activity? Start(string name) =>
        Activity.Current is { Recorded: true } ? CloudProxyTelemetry.Source.StartActivity(name) : null;
}

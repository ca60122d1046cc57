using System.Diagnostics;

namespace CloudProxy.Core.Telemetry;

/// <summary>The one ActivitySource every module starts its spans from.</summary>
public static class CloudProxyTelemetry
{
    public const string SourceName = "CloudProxy";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts a consumer span continuing the trace an envelope carries from its ingress request.</summary>
    public static Activity? StartFromEnvelope(string name, string? traceParent, string? traceState)
    {
        if (traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent))
        {
            return Source.StartActivity(name, ActivityKind.Consumer, parent);
        }

        return Source.StartActivity(name, ActivityKind.Consumer);
    }
}

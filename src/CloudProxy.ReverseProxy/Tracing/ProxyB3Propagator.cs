using System.Diagnostics;

namespace CloudProxy.ReverseProxy.Tracing;

/// <summary>
/// W3C trace context plus Zipkin B3 (<c>CloudProxy:ReverseProxy:B3=true</c>): an incoming request without a
/// <c>traceparent</c> continues its B3 trace (single <c>b3</c> header or <c>X-B3-*</c> headers), and the back end
/// receives both <c>traceparent</c> and <c>X-B3-*</c>. .NET ships W3C only; OpenTelemetry's B3 propagator is
/// of another API (TextMapPropagator), which ASP.NET Core hosting and YARP do not use.
/// </summary>
internal sealed class ProxyB3Propagator : DistributedContextPropagator
{
    private const string TraceIdHeader = "X-B3-TraceId";
    private const string SpanIdHeader = "X-B3-SpanId";
    private const string SampledHeader = "X-B3-Sampled";
    private const string SingleHeader = "b3";

    private readonly DistributedContextPropagator _w3c = CreateDefaultPropagator();

    public override IReadOnlyCollection<string> Fields => [.. _w3c.Fields, TraceIdHeader, SpanIdHeader, SampledHeader, SingleHeader];

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        _w3c.Inject(activity, carrier, setter);
        if (activity is null || setter is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }

        setter(carrier, TraceIdHeader, activity.TraceId.ToHexString());
        setter(carrier, SpanIdHeader, activity.SpanId.ToHexString());
        setter(carrier, SampledHeader, activity.Recorded ? "1" : "0");
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        _w3c.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
        if (traceId is not null || getter is null)
        {
            return;
        }

        traceId = FromB3(carrier, getter);
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        _w3c.ExtractBaggage(carrier, getter);

    /// <summary>The B3 context as a W3C traceparent, or null when absent or malformed (a 64-bit trace id is left-padded).</summary>
    internal static string? FromB3(object? carrier, PropagatorGetterCallback getter)
    {
        string? trace, span, sampled;
        getter(carrier, SingleHeader, out var single, out _);
        if (!string.IsNullOrEmpty(single))
        {
            var parts = single.Split('-');
            if (parts.Length < 2)
            {
                return null;
            }

            (trace, span, sampled) = (parts[0], parts[1], parts.Length > 2 ? parts[2] : null);
        }
        else
        {
            getter(carrier, TraceIdHeader, out trace, out _);
            getter(carrier, SpanIdHeader, out span, out _);
            getter(carrier, SampledHeader, out sampled, out _);
        }

        if (trace is null || span is null || !IsHex(trace, 16, 32) || !IsHex(span, 16, 16))
        {
            return null;
        }

        var flags = sampled is "1" or "d" or "true" ? "01" : "00";
        return $"00-{trace.PadLeft(32, '0').ToLowerInvariant()}-{span.ToLowerInvariant()}-{flags}";
    }

    private static bool IsHex(string text, int min, int max) =>
        text.Length == min || text.Length == max ? text.All(Uri.IsHexDigit) && text.Any(c => c != '0') : false;
}

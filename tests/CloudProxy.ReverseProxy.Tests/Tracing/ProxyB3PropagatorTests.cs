using System.Diagnostics;
using CloudProxy.ReverseProxy.Tracing;

namespace CloudProxy.ReverseProxy.Tests.Tracing;

public class ProxyB3PropagatorTests
{
    private static string? Extract(params (string Name, string Value)[] headers)
    {
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        new ProxyB3Propagator().ExtractTraceIdAndState(map, (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            value = ((Dictionary<string, string>)carrier!).GetValueOrDefault(name);
        }, out var traceId, out _);
        return traceId;
    }

    [Fact]
    public void The_single_b3_header_becomes_a_traceparent() =>
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            Extract(("b3", "4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-1")));

    [Fact]
    public void A_traceparent_wins_over_b3() =>
        Assert.Equal("00-11111111111111111111111111111111-2222222222222222-01",
            Extract(("traceparent", "00-11111111111111111111111111111111-2222222222222222-01"), ("b3", "4bf92f3577b34da6-00f067aa0ba902b7-1")));

    [Theory]
    [InlineData("nothex-00f067aa0ba902b7-1")]
    [InlineData("0000000000000000-00f067aa0ba902b7-1")]
    [InlineData("4bf92f3577b34da6")]
    public void A_malformed_b3_header_starts_no_trace(string b3) => Assert.Null(Extract(("b3", b3)));

    [Fact]
    public void Injection_writes_both_formats()
    {
        using var activity = new Activity("t").SetIdFormat(ActivityIdFormat.W3C).Start();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        new ProxyB3Propagator().Inject(activity, headers, (carrier, name, value) => ((Dictionary<string, string>)carrier!)[name] = value);

        Assert.Contains(activity.TraceId.ToHexString(), headers["traceparent"], StringComparison.Ordinal);
        Assert.Equal(activity.TraceId.ToHexString(), headers["X-B3-TraceId"]);
        Assert.Equal(activity.SpanId.ToHexString(), headers["X-B3-SpanId"]);
    }
}

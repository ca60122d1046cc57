namespace CloudProxy.StatsD.Protocol;

/// <summary>The four metric types statsd-http-proxy (and etsy statsd) know.</summary>
internal enum StatsDMetricType
{
    Count = 0,
    Gauge = 1,
    Timing = 2,
    Set = 3,
}

internal static class StatsDMetricTypes
{
    /// <summary>The type field of a StatsD line: <c>c</c>, <c>g</c>, <c>ms</c>, <c>s</c>.</summary>
    public static ReadOnlySpan<byte> Suffix(StatsDMetricType type) => type switch
    {
        StatsDMetricType.Count => "c"u8,
        StatsDMetricType.Gauge => "g"u8,
        StatsDMetricType.Timing => "ms"u8,
        _ => "s"u8,
    };

    /// <summary>Reads a type as a StatsD line spells it (<c>c</c>, <c>g</c>, <c>ms</c>, <c>s</c>).</summary>
    public static bool TryParseSuffix(ReadOnlySpan<char> text, out StatsDMetricType type)
    {
        switch (text)
        {
            case "c":
                type = StatsDMetricType.Count;
                return true;
            case "g":
                type = StatsDMetricType.Gauge;
                return true;
            case "ms":
                type = StatsDMetricType.Timing;
                return true;
            case "s":
                type = StatsDMetricType.Set;
                return true;
            default:
                type = default;
                return false;
        }
    }

    /// <summary>Reads a type as the HTTP API names it (<c>count</c>…) or as a StatsD line does (<c>c</c>…).</summary>
    public static bool TryParseName(ReadOnlySpan<char> text, out StatsDMetricType type)
    {
        switch (text)
        {
            case "count":
                type = StatsDMetricType.Count;
                return true;
            case "gauge":
                type = StatsDMetricType.Gauge;
                return true;
            case "timing":
                type = StatsDMetricType.Timing;
                return true;
            case "set":
                type = StatsDMetricType.Set;
                return true;
            default:
                return TryParseSuffix(text, out type);
        }
    }
}

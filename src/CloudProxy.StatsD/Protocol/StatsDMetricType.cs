using System.Collections.Frozen;
using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>The four metric types statsd-http-proxy (and etsy statsd) know.</summary>
internal enum StatsDMetricType
{
    Count = 0,
    Gauge = 1,
    Timing = 2,
    Set = 3,
}

/// <summary>What a metric's value is: a number, a number that must not be negative, or any text (a set member).</summary>
internal enum StatsDValueKind
{
    Number,
    NonNegativeNumber,
    Text,
}

/// <summary>
/// Every protocol rule of one metric type, in one place: how the HTTP API names it (<c>count</c>, also its route
/// and the <c>endpoint</c> label), how a StatsD line spells it (<c>c</c>), whether a sample rate applies (StatsD
/// ignores it on gauges and sets), whether a signed value is a shift (gauges), what the value is, the parameter
/// that carries it, and the value sent when the client gives none (null: the value is required).
/// </summary>
internal sealed record StatsDMetricTypeInfo(
    StatsDMetricType Type,
    string Name,
    string Suffix,
    bool Sampled,
    bool Shifts,
    StatsDValueKind Value,
    string ValueName,
    string? DefaultValue)
{
    public byte[] SuffixUtf8 { get; } = Encoding.ASCII.GetBytes(Suffix);
}

internal static class StatsDMetricTypes
{
    /// <summary>One entry per metric type; a guard test fails when a type has none.</summary>
    public static readonly FrozenDictionary<StatsDMetricType, StatsDMetricTypeInfo> All = new StatsDMetricTypeInfo[]
    {
        // statsd-http-proxy's default value is 1 for count, gauge and set; a timing needs its time.
        new(StatsDMetricType.Count, "count", "c", Sampled: true, Shifts: false, StatsDValueKind.Number, "value", "1"),
        new(StatsDMetricType.Gauge, "gauge", "g", Sampled: false, Shifts: true, StatsDValueKind.Number, "value", "1"),
        new(StatsDMetricType.Timing, "timing", "ms", Sampled: true, Shifts: false, StatsDValueKind.NonNegativeNumber, "time", null),
        new(StatsDMetricType.Set, "set", "s", Sampled: false, Shifts: false, StatsDValueKind.Text, "value", "1"),
    }.ToFrozenDictionary(i => i.Type);

    private static readonly FrozenDictionary<string, StatsDMetricTypeInfo>.AlternateLookup<ReadOnlySpan<char>> BySuffix =
        All.Values.ToFrozenDictionary(i => i.Suffix, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly FrozenDictionary<string, StatsDMetricTypeInfo>.AlternateLookup<ReadOnlySpan<char>> ByName =
        All.Values.ToFrozenDictionary(i => i.Name, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The suffixes as a message lists them: <c>c, g, ms, s</c>.</summary>
    public static string SuffixList { get; } = string.Join(", ", All.Values.OrderBy(i => i.Type).Select(i => i.Suffix));

    /// <summary>The names as a message lists them: <c>count, gauge, timing, set</c>.</summary>
    public static string NameList { get; } = string.Join(", ", All.Values.OrderBy(i => i.Type).Select(i => i.Name));

    public static StatsDMetricTypeInfo Of(StatsDMetricType type) => All[type];

    /// <summary>The type field of a StatsD line: <c>c</c>, <c>g</c>, <c>ms</c>, <c>s</c>.</summary>
    public static ReadOnlySpan<byte> Suffix(StatsDMetricType type) => All[type].SuffixUtf8;

    /// <summary>Reads a type as a StatsD line spells it (<c>c</c>, <c>g</c>, <c>ms</c>, <c>s</c>).</summary>
    public static bool TryParseSuffix(ReadOnlySpan<char> text, out StatsDMetricType type)
    {
        var found = BySuffix.TryGetValue(text, out var info);
        type = found ? info!.Type : default;
        return found;
    }

    /// <summary>Reads a type as the HTTP API names it (<c>count</c>…) or as a StatsD line does (<c>c</c>…).</summary>
    public static bool TryParseName(ReadOnlySpan<char> text, out StatsDMetricType type)
    {
        if (ByName.TryGetValue(text, out var info))
        {
            type = info.Type;
            return true;
        }

        return TryParseSuffix(text, out type);
    }
}

using System.Globalization;

namespace CloudProxy.Tests.Common;

/// <summary>Reads samples out of Prometheus text exposition (what /metrics serves).</summary>
public static class PrometheusText
{
    /// <summary>Sum of every sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sum(string exposition, string name, params (string Label, string Value)[] labels)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        double total = 0;
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            var metric = brace >= 0 ? line[..brace] : line[..space];
            if (metric != name)
            {
                continue;
            }

            var labelText = brace >= 0 ? line[brace..(line.LastIndexOf('}') + 1)] : string.Empty;
            if (labels.All(l => labelText.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}

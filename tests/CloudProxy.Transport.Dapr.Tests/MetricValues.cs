using System.Globalization;
using System.Text;
using Prometheus;

namespace CloudProxy.Transport.Dapr.Tests;

/// <summary>Reads a sample from a registry's Prometheus text exposition, as a scraper would see it.</summary>
internal static class MetricValues
{
    public static async Task<double> ReadAsync(CollectorRegistry registry, string name, params string[] labelPairs)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var wanted = labelPairs.Select(p => p.Split('=', 2)).Select(p => $"{p[0]}=\"{p[1]}\"").ToArray();
        foreach (var line in Encoding.UTF8.GetString(stream.ToArray()).Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal) && !line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            if (wanted.All(w => series.Contains(w, StringComparison.Ordinal)))
            {
                return double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}

using Prometheus;

namespace CloudProxy.Core.Metrics;

/// <summary>
/// Label children resolved once at start-up, so a hot path increments an array slot instead of looking a label
/// set up per request. Labels are indexes into fixed name lists (an enum's order), which keeps them bounded.
/// </summary>
public static class LabelledCounters
{
    /// <summary>One child per name of a one-label counter: <c>result[i]</c> is <c>counter{label=names[i]}</c>.</summary>
    public static ICounter[] Children(Counter counter, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(names);
        return [.. names.Select(n => (ICounter)counter.WithLabels(n))];
    }

    /// <summary>One child per pair of a two-label counter: <c>result[r, c]</c> is <c>counter{rows[r], columns[c]}</c>.</summary>
    public static ICounter[,] Grid(Counter counter, IReadOnlyList<string> rows, IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        var grid = new ICounter[rows.Count, columns.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            for (var c = 0; c < columns.Count; c++)
            {
                grid[r, c] = counter.WithLabels(rows[r], columns[c]);
            }
        }

        return grid;
    }
}

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

    /// <summary>
    /// One child per value of <typeparamref name="TEnum"/>, labelled by the explicit map <paramref name="label"/>
    /// (never by position): <c>result[(int)value]</c> is <c>counter{label=label(value)}</c>. The values must be
    /// small and not negative (an array slot each); a value the map has no entry for throws here, at start-up.
    /// </summary>
    public static ICounter[] ByValue<TEnum>(Counter counter, Func<TEnum, string> label)
        where TEnum : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(label);
        var values = Enum.GetValues<TEnum>();
        var children = new ICounter[Slots(values)];
        foreach (var value in values)
        {
            children[Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)] = counter.WithLabels(label(value));
        }

        return children;
    }

    /// <summary>
    /// One child per pair of values of a two-label counter, each labelled by its explicit map:
    /// <c>result[(int)row, (int)column]</c> is <c>counter{rowLabel(row), columnLabel(column)}</c>.
    /// </summary>
    public static ICounter[,] GridByValue<TRow, TColumn>(Counter counter, Func<TRow, string> rowLabel, Func<TColumn, string> columnLabel)
        where TRow : struct, Enum
        where TColumn : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(rowLabel);
        ArgumentNullException.ThrowIfNull(columnLabel);
        var rows = Enum.GetValues<TRow>();
        var columns = Enum.GetValues<TColumn>();
        var grid = new ICounter[Slots(rows), Slots(columns)];
        foreach (var row in rows)
        {
            foreach (var column in columns)
            {
                grid[Convert.ToInt32(row, System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt32(column, System.Globalization.CultureInfo.InvariantCulture)] =
                    counter.WithLabels(rowLabel(row), columnLabel(column));
            }
        }

        return grid;
    }

    private static int Slots<TEnum>(TEnum[] values)
        where TEnum : struct, Enum =>
        values.Length == 0 ? 0 : values.Max(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)) + 1;
}

using Prometheus;

namespace CloudProxy.Core.Metrics;

/// <summary>
/// Label children resolved once at start-up, so a hot path increments an array slot instead of looking a label
/// set up per request. Labels come from an enum through an explicit map (never by position), which keeps them bounded.
/// </summary>
public static class LabelledCounters
{
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

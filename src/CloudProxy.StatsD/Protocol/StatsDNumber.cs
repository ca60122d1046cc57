using System.Globalization;

namespace CloudProxy.StatsD.Protocol;

/// <summary>Numbers as StatsD lines carry them: invariant culture, finite, shortest round-trip form.</summary>
internal static class StatsDNumber
{
    private const NumberStyles Style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary>Longest text <see cref="TryFormat"/> writes (sign, 17 digits, point, exponent).</summary>
    public const int MaxFormattedLength = 32;

    /// <summary>Parses <c>12</c>, <c>-3.5</c>, <c>1e3</c>; refuses blanks, thousands separators, hex, NaN and infinities.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out double value)
    {
        if (text.IsEmpty || text.Length > 64 || !double.TryParse(text, Style, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value))
        {
            value = 0;
            return false;
        }

        if (value == 0)
        {
            value = 0; // no "-0" on the wire
        }

        return true;
    }

    /// <summary>Writes <paramref name="value"/> as UTF-8; with <paramref name="forceSign"/> a <c>+</c> is written for zero and positives.</summary>
    public static int Format(double value, Span<byte> destination, bool forceSign = false)
    {
        var written = 0;
        if (forceSign && (value > 0 || value == 0))
        {
            destination[0] = (byte)'+';
            written = 1;
            value = Math.Abs(value);
        }

        if (!value.TryFormat(destination[written..], out var length, "R", CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("Destination too small for a number.", nameof(destination));
        }

        return written + length;
    }

    /// <summary>A sample rate StatsD honours: greater than 0 and at most 1.</summary>
    public static bool TryParseSampleRate(ReadOnlySpan<char> text, out double rate) =>
        TryParse(text, out rate) && rate > 0 && rate <= 1;
}

using System.Globalization;

namespace CloudProxy.Sentry.Protocol;

/// <summary>
/// Durations as ogre's flags give them (Go's <c>time.ParseDuration</c>: <c>100ms</c>, <c>1.5s</c>, <c>3m0s</c>)
/// or in .NET's <c>hh:mm:ss</c> form, so both old command lines and appsettings.json work.
/// </summary>
internal static class SentryDuration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
        }

        var span = text.AsSpan();
        double total = 0;
        var any = false;
        while (span.Length > 0)
        {
            var n = 0;
            while (n < span.Length && (char.IsAsciiDigit(span[n]) || span[n] == '.'))
            {
                n++;
            }

            if (n == 0 || !double.TryParse(span[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            span = span[n..];
            var u = 0;
            while (u < span.Length && char.IsAsciiLetter(span[u]) || (u < span.Length && span[u] == 'µ'))
            {
                u++;
            }

            double? scale = span[..u] switch
            {
                "h" => 3600,
                "m" => 60,
                "s" => 1,
                "ms" => 1e-3,
                "us" or "µs" => 1e-6,
                "ns" => 1e-9,
                _ => null,
            };
            if (scale is null)
            {
                return false;
            }

            total += number * scale.Value;
            span = span[u..];
            any = true;
        }

        if (!any || total > TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(total);
        return true;
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace CloudProxy.Graphite.Protocol;

/// <summary>Why a plaintext line was refused. Names double as the <c>reason</c> metric label.</summary>
public enum GraphiteLineProblem
{
    None = 0,
    Fields,
    NameTooLong,
    NameCharacters,
    NameDots,
    Value,
    NotFinite,
    Timestamp,
    TimestampRange,
}

/// <summary>The limits a line is checked against; the timestamp window is fixed per batch.</summary>
internal readonly record struct GraphiteLineRules(int MaxNameLength, long Now, long MinTimestamp, long MaxTimestamp)
{
    public static GraphiteLineRules At(long now, int maxNameLength, long maxAgeSeconds, long maxFutureSeconds) =>
        new(maxNameLength, now, now - maxAgeSeconds, now + maxFutureSeconds);
}

/// <summary>
/// Validates one carbon plaintext line, <c>path value timestamp</c>, on bytes. Fields are separated by runs of
/// spaces or tabs (carbon splits on any whitespace). The name is printable, without '/', '\' or empty path
/// segments (carbon turns dots into folders); the value is a finite number (NaN is dropped, as carbon does);
/// the timestamp is seconds, <c>-1</c> meaning now, within the configured window.
/// </summary>
internal static class GraphiteLineParser
{
    // Control characters, space, DEL and the two path separators. Bytes >= 0x80 are UTF-8, checked separately.
    private static readonly SearchValues<byte> Forbidden = SearchValues.Create(BuildForbidden());

    public static GraphiteLineProblem Parse(ReadOnlySpan<byte> line, in GraphiteLineRules rules, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out long timestamp)
    {
        name = default;
        value = default;
        timestamp = 0;
        var rest = line;
        if (!NextField(ref rest, out name) || !NextField(ref rest, out value) || !NextField(ref rest, out var time) || NextField(ref rest, out _))
        {
            return GraphiteLineProblem.Fields;
        }

        var problem = CheckName(name, rules.MaxNameLength);
        if (problem != GraphiteLineProblem.None)
        {
            return problem;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return GraphiteLineProblem.Value;
        }

        if (!double.IsFinite(number))
        {
            return GraphiteLineProblem.NotFinite;
        }

        if (!Utf8Parser.TryParse(time, out timestamp, out var used) || used != time.Length)
        {
            // carbon accepts fractional seconds; whisper keeps whole seconds.
            if (!double.TryParse(time, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds)
                || seconds is > long.MaxValue or < long.MinValue)
            {
                return GraphiteLineProblem.Timestamp;
            }

            timestamp = (long)Math.Truncate(seconds);
        }

        if (timestamp == -1)
        {
            timestamp = rules.Now;
        }

        return timestamp < rules.MinTimestamp || timestamp > rules.MaxTimestamp ? GraphiteLineProblem.TimestampRange : GraphiteLineProblem.None;
    }

    /// <summary>Checks a metric name (or a key-name prefix) by the same rules as a line's name.</summary>
    public static GraphiteLineProblem CheckName(ReadOnlySpan<byte> name, int maxLength)
    {
        if (name.Length > maxLength)
        {
            return GraphiteLineProblem.NameTooLong;
        }

        var bad = name.IndexOfAny(Forbidden);
        if (bad >= 0)
        {
            return GraphiteLineProblem.NameCharacters;
        }

        if (name.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0 && !IsVisibleUtf8(name))
        {
            return GraphiteLineProblem.NameCharacters;
        }

        return name.Length == 0 || name[0] == '.' || name[^1] == '.' || name.IndexOf(".."u8) >= 0
            ? GraphiteLineProblem.NameDots
            : GraphiteLineProblem.None;
    }

    /// <summary>
    /// Valid UTF-8 without what makes a name look like another one or split where it should not: control
    /// characters (U+0085 too), format characters (bidi overrides and isolates such as U+202E, zero-width
    /// U+200B–U+200D, U+2060, the BOM U+FEFF), line and paragraph separators (U+2028, U+2029) and Unicode
    /// spaces (U+00A0, U+3000): carbon's Python splits a line on any of those spaces, and a dashboard shows
    /// <c>a\u202Eb</c> as something else.
    /// </summary>
    private static bool IsVisibleUtf8(ReadOnlySpan<byte> name)
    {
        while (!name.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(name, out var rune, out var used) != OperationStatus.Done)
            {
                return false;
            }

            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                case UnicodeCategory.SpaceSeparator:
                    return false;
            }

            name = name[used..];
        }

        return true;
    }

    public static string ReasonName(GraphiteLineProblem problem) => problem switch
    {
        GraphiteLineProblem.Fields => "fields",
        GraphiteLineProblem.NameTooLong => "name_too_long",
        GraphiteLineProblem.NameCharacters => "name_characters",
        GraphiteLineProblem.NameDots => "name_dots",
        GraphiteLineProblem.Value => "value",
        GraphiteLineProblem.NotFinite => "not_finite",
        GraphiteLineProblem.Timestamp => "timestamp",
        GraphiteLineProblem.TimestampRange => "timestamp_range",
        _ => "none",
    };

    public static string Describe(GraphiteLineProblem problem, in GraphiteLineRules rules) => problem switch
    {
        GraphiteLineProblem.Fields => "expected three fields: path value timestamp",
        GraphiteLineProblem.NameTooLong => $"metric name longer than {rules.MaxNameLength} bytes",
        GraphiteLineProblem.NameCharacters => "metric name holds a control character, space, '/', '\\', invalid UTF-8, or an invisible or direction-changing character (bidi control, zero-width, line separator, Unicode space)",
        GraphiteLineProblem.NameDots => "metric name is empty, starts or ends with '.', or has '..'",
        GraphiteLineProblem.Value => "value is not a number",
        GraphiteLineProblem.NotFinite => "value is NaN or infinite",
        GraphiteLineProblem.Timestamp => "timestamp is not a number of seconds",
        GraphiteLineProblem.TimestampRange => $"timestamp outside {rules.MinTimestamp}..{rules.MaxTimestamp}",
        _ => string.Empty,
    };

    private static bool NextField(scoped ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        var start = rest.IndexOfAnyExcept((byte)' ', (byte)'\t');
        if (start < 0)
        {
            field = default;
            rest = default;
            return false;
        }

        rest = rest[start..];
        var end = rest.IndexOfAny((byte)' ', (byte)'\t');
        if (end < 0)
        {
            field = rest;
            rest = default;
        }
        else
        {
            field = rest[..end];
            rest = rest[end..];
        }

        return true;
    }

    private static byte[] BuildForbidden()
    {
        var list = new List<byte>();
        for (var b = 0; b <= 0x20; b++)
        {
            list.Add((byte)b);
        }

        list.Add(0x7F);
        list.Add((byte)'/');
        list.Add((byte)'\\');
        return [.. list];
    }
}

using System.Globalization;
using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// What a metric key or a DogStatsD tag may contain. A key is refused when it could start another StatsD
/// field or line (<c>:</c> value, <c>|</c> field, <c>@</c> rate, <c>#</c> tags, a newline or any other control
/// character, whitespace), or holds a lone surrogate or U+FFFD; or it is sanitized the way etsy statsd's
/// <c>sanitizeKeyName</c> does.
/// </summary>
internal static class StatsDNames
{
    /// <summary>Longest key (prefix included) in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 512;

    /// <summary>Longest single tag in UTF-8 bytes.</summary>
    public const int MaxTagBytes = 200;

    /// <summary>Most tags on one metric.</summary>
    public const int MaxTags = 50;

    /// <summary>Longest set member in UTF-8 bytes.</summary>
    public const int MaxSetValueBytes = 256;

    /// <summary>Returns null when <paramref name="key"/> is a safe key, else the reason it is not.</summary>
    public static string? ValidateKey(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty)
        {
            return "key is empty";
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is ':' or '|' or '@' or '#')
            {
                return string.Create(CultureInfo.InvariantCulture, $"key contains '{c}' at position {i}, which would start another StatsD field");
            }

            var problem = CheckCharacter(key, i);
            if (problem is not null)
            {
                return "key " + problem;
            }
        }

        return null;
    }

    /// <summary>Returns null when <paramref name="tag"/> is one safe DogStatsD tag (<c>name</c> or <c>name:value</c>).</summary>
    public static string? ValidateTag(ReadOnlySpan<char> tag)
    {
        if (tag.IsEmpty)
        {
            return "tag is empty";
        }

        for (var i = 0; i < tag.Length; i++)
        {
            var c = tag[i];
            if (c is '|' or '@' or '#' or ',')
            {
                return string.Create(CultureInfo.InvariantCulture, $"tag contains '{c}' at position {i}, which would start another StatsD field");
            }

            // What a JSON array sent as a form value leaves behind (tags=["a:b"]); no daemon reads it as a tag.
            if (c is '"' or '[' or ']')
            {
                return string.Create(CultureInfo.InvariantCulture, $"tag contains '{c}' at position {i}; send tags as a:b,c or a JSON array of strings");
            }

            var problem = CheckCharacter(tag, i);
            if (problem is not null)
            {
                return "tag " + problem;
            }
        }

        return Encoding.UTF8.GetByteCount(tag) > MaxTagBytes
            ? string.Create(CultureInfo.InvariantCulture, $"tag is longer than {MaxTagBytes} bytes")
            : null;
    }

    /// <summary>Returns null when <paramref name="value"/> is a safe set member.</summary>
    public static string? ValidateSetValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return "set value is empty";
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is ':' or '|')
            {
                return string.Create(CultureInfo.InvariantCulture, $"set value contains '{c}' at position {i}, which would start another StatsD field");
            }

            var problem = CheckCharacter(value, i);
            if (problem is not null)
            {
                return "set value " + problem;
            }
        }

        return Encoding.UTF8.GetByteCount(value) > MaxSetValueBytes
            ? string.Create(CultureInfo.InvariantCulture, $"set value is longer than {MaxSetValueBytes} bytes")
            : null;
    }

    /// <summary>
    /// etsy statsd's <c>sanitizeKeyName</c>: runs of whitespace become <c>_</c>, <c>/</c> becomes <c>-</c>,
    /// anything else outside <c>[a-zA-Z0-9_.-]</c> is removed. With <paramref name="keepColon"/> (tags), <c>:</c>
    /// is kept too. <paramref name="destination"/> must be at least as long as <paramref name="source"/>.
    /// </summary>
    public static int Sanitize(ReadOnlySpan<char> source, Span<char> destination, bool keepColon = false)
    {
        var written = 0;
        var inWhitespace = false;
        foreach (var c in source)
        {
            if (IsJavaScriptWhitespace(c))
            {
                if (!inWhitespace)
                {
                    destination[written++] = '_';
                }

                inWhitespace = true;
                continue;
            }

            inWhitespace = false;
            if (c == '/')
            {
                destination[written++] = '-';
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' || (keepColon && c == ':'))
            {
                destination[written++] = c;
            }
        }

        return written;
    }

    /// <summary>JavaScript's <c>\s</c>, which etsy's regular expression uses.</summary>
    public static bool IsJavaScriptWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
            or '\u202f' or '\u205f' or '\u3000' or '\ufeff' => true,
        _ => c is >= '\u2000' and <= '\u200a',
    };

    private static string? CheckCharacter(ReadOnlySpan<char> text, int i)
    {
        var c = text[i];
        if (char.IsControl(c) || c is '\u2028' or '\u2029')
        {
            return string.Create(CultureInfo.InvariantCulture, $"contains control character U+{(int)c:X4} at position {i}");
        }

        // A space ends the name for most StatsD daemons (statsite, Datadog's agent, Telegraf): the line would split.
        if (IsJavaScriptWhitespace(c))
        {
            return string.Create(CultureInfo.InvariantCulture, $"contains whitespace U+{(int)c:X4} at position {i}, which splits the line for most StatsD daemons");
        }

        if (c == '\uFFFD')
        {
            return string.Create(CultureInfo.InvariantCulture, $"contains U+FFFD at position {i}, what invalid UTF-8 was decoded to");
        }

        if (char.IsHighSurrogate(c))
        {
            if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                return null;
            }

            return string.Create(CultureInfo.InvariantCulture, $"contains an unpaired surrogate at position {i}");
        }

        if (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1])))
        {
            return string.Create(CultureInfo.InvariantCulture, $"contains an unpaired surrogate at position {i}");
        }

        return null;
    }
}

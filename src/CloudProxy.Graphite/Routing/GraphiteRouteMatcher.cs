using System.Text;
using System.Text.RegularExpressions;

namespace CloudProxy.Graphite.Routing;

/// <summary>How an expression is tested, as carbon-c-relay's <c>determine_if_regex</c> decides (router.c).</summary>
internal enum GraphiteMatchType
{
    MatchAll = 0,
    Regex = 1,
    Contains = 2,
    StartsWith = 3,
    EndsWith = 4,
    Matches = 5,
}

/// <summary>
/// One compiled match expression. Like carbon-c-relay, an expression made only of letters, digits, <c>_</c>,
/// <c>-</c> and escaped characters (with an optional leading <c>^</c> and trailing <c>$</c>) is a plain string
/// test (strstr, strncmp, tail compare, strcmp); anything else is a POSIX extended regular expression, run here
/// by .NET's linear-time (non-backtracking) engine after translating POSIX bracket classes such as
/// <c>[[:digit:]]</c>. The part that matched and the capture groups feed <see cref="Rewrite"/>.
/// </summary>
internal sealed class GraphiteRouteMatcher
{
    private static readonly Dictionary<string, string> PosixClasses = new(StringComparer.Ordinal)
    {
        ["alpha"] = "a-zA-Z", ["digit"] = "0-9", ["alnum"] = "a-zA-Z0-9", ["upper"] = "A-Z", ["lower"] = "a-z",
        ["space"] = @" \t\n\r\f\v", ["blank"] = @" \t", ["punct"] = @"!-/:-@\[-`{-~", ["xdigit"] = "0-9A-Fa-f",
        ["cntrl"] = @"\x00-\x1f\x7f", ["print"] = @"\x20-\x7e", ["graph"] = @"\x21-\x7e",
    };

    private readonly Regex? _regex;

    private GraphiteRouteMatcher(string pattern, GraphiteMatchType type, string literal, Regex? regex, int groups)
    {
        Pattern = pattern;
        Type = type;
        Literal = literal;
        _regex = regex;
        Groups = groups;
    }

    public string Pattern { get; }

    public GraphiteMatchType Type { get; }

    /// <summary>The string a non-regex test compares with (the relay's <c>strmatch</c>).</summary>
    public string Literal { get; }

    /// <summary>The relay's <c>nmatch</c>: capture groups + 1 for a regex that has groups, else 0 (replacement taken literally).</summary>
    public int Groups { get; }

    /// <summary>Compiles an expression; null and the reason when it is not a valid regular expression.</summary>
    public static GraphiteRouteMatcher? Compile(string pattern, out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        error = null;
        if (pattern == "*")
        {
            return new GraphiteRouteMatcher(pattern, GraphiteMatchType.MatchAll, string.Empty, null, 0);
        }

        // determine_if_regex, step by step.
        var type = GraphiteMatchType.Contains;
        var literal = new StringBuilder();
        var escape = false;
        var capture = false;
        var e = 0;
        if (pattern.StartsWith('^'))
        {
            e = 1;
            type = GraphiteMatchType.StartsWith;
        }

        for (; e < pattern.Length; e++)
        {
            var c = pattern[e];
            switch (c)
            {
                case '\\':
                    if (escape)
                    {
                        literal.Append(c);
                    }

                    escape = !escape;
                    break;
                case '.' or '*' or '+':
                    if (!escape)
                    {
                        type = GraphiteMatchType.Regex;
                    }

                    literal.Append(c);
                    escape = false;
                    break;
                case '(':
                    if (!escape)
                    {
                        type = GraphiteMatchType.Regex;
                        capture = true;
                    }

                    literal.Append(c);
                    escape = false;
                    break;
                case '$':
                    if (!escape && e == pattern.Length - 1)
                    {
                        type = type switch
                        {
                            GraphiteMatchType.StartsWith => GraphiteMatchType.Matches,
                            GraphiteMatchType.Regex => GraphiteMatchType.Regex,
                            _ => GraphiteMatchType.EndsWith,
                        };
                    }

                    escape = false;
                    break;
                default:
                    if (!escape && (c is '_' or '-' or (>= '0' and <= '9') or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z')))
                    {
                        literal.Append(c);
                    }
                    else
                    {
                        type = GraphiteMatchType.Regex;
                    }

                    escape = false;
                    break;
            }

            if (type == GraphiteMatchType.Regex && capture)
            {
                break;
            }
        }

        if (type != GraphiteMatchType.Regex)
        {
            return new GraphiteRouteMatcher(pattern, type, literal.ToString(), null, 0);
        }

        Regex regex;
        try
        {
            regex = new Regex(TranslatePosix(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            error = $"not a regular expression this gateway can run: {ex.Message}";
            return null;
        }

        var groups = regex.GetGroupNumbers().Length - 1;
        return new GraphiteRouteMatcher(pattern, type, string.Empty, regex, capture && groups > 0 ? groups + 1 : 0);
    }

    /// <summary>
    /// Tests a metric name. <paramref name="spans"/> receives (start, length) of the whole match at 0 and of each
    /// capture group after it (start -1 when a group did not take part); it must hold <see cref="Groups"/> entries
    /// (at least one).
    /// </summary>
    public bool IsMatch(string metric, Span<(int Start, int Length)> spans)
    {
        ArgumentNullException.ThrowIfNull(metric);
        switch (Type)
        {
            case GraphiteMatchType.MatchAll:
                spans[0] = (0, metric.Length);
                return true;
            case GraphiteMatchType.Contains:
            {
                var at = metric.IndexOf(Literal, StringComparison.Ordinal);
                spans[0] = (at, Literal.Length);
                return at >= 0;
            }

            case GraphiteMatchType.StartsWith:
                spans[0] = (0, Literal.Length);
                return metric.StartsWith(Literal, StringComparison.Ordinal);
            case GraphiteMatchType.EndsWith:
                spans[0] = (metric.Length - Literal.Length, Literal.Length);
                return metric.EndsWith(Literal, StringComparison.Ordinal);
            case GraphiteMatchType.Matches:
                spans[0] = (0, Literal.Length);
                return string.Equals(metric, Literal, StringComparison.Ordinal);
            default:
            {
                var match = _regex!.Match(metric);
                if (!match.Success)
                {
                    return false;
                }

                spans[0] = (match.Index, match.Length);
                for (var g = 1; g < Groups && g < spans.Length; g++)
                {
                    var group = match.Groups[g];
                    spans[g] = group.Success ? (group.Index, group.Length) : (-1, 0);
                }

                return true;
            }
        }
    }

    /// <summary>
    /// carbon-c-relay's <c>router_rewrite_metric</c>: the part before the match, the replacement, the part after.
    /// With groups, <c>\N</c> (or <c>\g{N}</c>) inserts group N, <c>\_N</c> lower-cased, <c>\^N</c> upper-cased,
    /// and a <c>.</c> after the backslash (<c>\.N</c>, <c>\_.N</c>, <c>\^.N</c>) turns dots into underscores;
    /// without groups the replacement is taken as written.
    /// </summary>
    public string Rewrite(string metric, string replacement, ReadOnlySpan<(int Start, int Length)> spans)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(replacement);
        var s = new StringBuilder(metric.Length + replacement.Length);
        s.Append(metric, 0, spans[0].Start);
        if (Groups == 0)
        {
            s.Append(replacement);
        }
        else
        {
            var escape = 0;
            var reference = 0;
            var lower = false;
            var upper = false;
            var dots = false;
            var gmatch = 0; // 0 \N, 1 \g, 2 \g{
            for (var i = 0; ; i++)
            {
                var c = i < replacement.Length ? replacement[i] : '\0';
                if (c == '\\' && escape == 0)
                {
                    escape = 1;
                    lower = upper = dots = false;
                }
                else if (escape == 1 && !lower && !upper && !dots && c == '_')
                {
                    lower = true;
                }
                else if (escape == 1 && !lower && !upper && !dots && c == '^')
                {
                    upper = true;
                }
                else if (escape == 1 && c == '.')
                {
                    dots = true;
                }
                else if (escape != 0 && c is >= '0' and <= '9')
                {
                    escape = 2;
                    reference = (reference * 10) + (c - '0');
                }
                else if (escape != 0 && reference == 0 && c == 'g')
                {
                    gmatch = 1;
                }
                else if (escape != 0 && reference == 0 && gmatch == 1 && c == '{')
                {
                    gmatch = 2;
                }
                else
                {
                    if (escape != 0)
                    {
                        if (reference > 0 && reference < Groups && reference < spans.Length && spans[reference].Start >= 0)
                        {
                            var (start, length) = spans[reference];
                            for (var k = start; k < start + length; k++)
                            {
                                var ch = metric[k];
                                if (dots && ch == '.')
                                {
                                    ch = '_';
                                }
                                else if (lower)
                                {
                                    ch = ch is >= 'A' and <= 'Z' ? (char)(ch + 32) : ch;
                                }
                                else if (upper)
                                {
                                    ch = ch is >= 'a' and <= 'z' ? (char)(ch - 32) : ch;
                                }

                                s.Append(ch);
                            }
                        }

                        reference = 0;
                    }

                    if (gmatch == 2 && c == '}')
                    {
                        escape = 0;
                        lower = upper = dots = false;
                        gmatch = 0;
                    }
                    else if (c != '\\')
                    {
                        escape = 0;
                        lower = upper = dots = false;
                        gmatch = 0;
                        if (c != '\0')
                        {
                            s.Append(c);
                        }
                    }
                }

                if (i >= replacement.Length)
                {
                    break;
                }
            }
        }

        var end = spans[0].Start + spans[0].Length;
        s.Append(metric, end, metric.Length - end);
        return s.ToString();
    }

    /// <summary>
    /// POSIX ERE to .NET: bracket expressions keep <c>\</c> literal and get their <c>[:class:]</c> names
    /// spelled out; outside brackets <c>\w \W \s \S \b \B</c> keep glibc's meaning and any other escaped
    /// character stands for itself.
    /// </summary>
    private static string TranslatePosix(string pattern)
    {
        var s = new StringBuilder(pattern.Length + 8);
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var next = pattern[++i];
                s.Append(next is 'w' or 'W' or 's' or 'S' or 'b' or 'B' ? "\\" + next : Regex.Escape(next.ToString()));
            }
            else if (c == '[')
            {
                var j = i + 1;
                s.Append('[');
                if (j < pattern.Length && pattern[j] == '^')
                {
                    s.Append('^');
                    j++;
                }

                if (j < pattern.Length && pattern[j] == ']')
                {
                    s.Append(@"\]");
                    j++;
                }

                for (; j < pattern.Length && pattern[j] != ']'; j++)
                {
                    if (pattern[j] == '[' && j + 1 < pattern.Length && pattern[j + 1] == ':')
                    {
                        var close = pattern.IndexOf(":]", j + 2, StringComparison.Ordinal);
                        if (close > 0 && PosixClasses.TryGetValue(pattern[(j + 2)..close], out var spelled))
                        {
                            s.Append(spelled);
                            j = close + 1;
                            continue;
                        }
                    }

                    s.Append(pattern[j] is '\\' or '[' ? "\\" + pattern[j] : pattern[j].ToString());
                }

                if (j >= pattern.Length)
                {
                    throw new ArgumentException("unterminated [ ] bracket expression");
                }

                s.Append(']');
                i = j;
            }
            else
            {
                s.Append(c);
            }
        }

        return s.ToString();
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CloudProxy.Graphite.Routing;

/// <summary>
/// One line of carbon-aggregator's <c>aggregation-rules.conf</c>: <c>output_template (frequency) = method input_pattern</c>,
/// parsed and compiled as carbon's <c>carbon/aggregator/rules.py</c> does.
/// </summary>
internal sealed partial class GraphiteAggregationRule
{
    private static readonly Dictionary<string, Func<List<double>, double>> Methods = new(StringComparer.Ordinal)
    {
        ["sum"] = Sum,
        ["avg"] = values => Sum(values) / values.Count,
        ["min"] = values => values.Min(),
        ["max"] = values => values.Max(),
        ["count"] = values => values.Count,
        ["p50"] = values => Percentile(values, 0.50),
        ["p75"] = values => Percentile(values, 0.75),
        ["p80"] = values => Percentile(values, 0.80),
        ["p90"] = values => Percentile(values, 0.90),
        ["p95"] = values => Percentile(values, 0.95),
        ["p99"] = values => Percentile(values, 0.99),
        ["p999"] = values => Percentile(values, 0.999),
    };

    private readonly Regex _regex;
    private readonly (string Text, string? Field)[] _template;

    private GraphiteAggregationRule(int line, string output, int frequency, string method, string input, Regex regex, (string, string?)[] template)
    {
        Line = line;
        Output = output;
        Frequency = frequency;
        Method = method;
        Input = input;
        _regex = regex;
        _template = template;
        Compute = Methods[method];
    }

    public int Line { get; }

    public string Output { get; }

    public int Frequency { get; }

    public string Method { get; }

    public string Input { get; }

    /// <summary>The method over one interval's values, in arrival order.</summary>
    public Func<List<double>, double> Compute { get; }

    /// <summary>carbon formats count (a Python int) with <c>%d</c>, every other result (a float) with <c>%.10f</c>.</summary>
    public bool IsInteger => Method == "count";

    /// <summary>Parses one rule line (comments and blank lines are the caller's); null and the reason on failure.</summary>
    public static GraphiteAggregationRule? Parse(string text, int line, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var left = equals < 0 ? [] : Words(text[..equals]);
        var right = equals < 0 ? [] : Words(text[(equals + 1)..]);
        if (left.Length != 2 || right.Length != 2)
        {
            error = "is not `output_template (frequency) = method input_pattern`";
            return null;
        }

        if (!int.TryParse(left[1].TrimStart('(').TrimEnd(')'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var frequency) || frequency < 1)
        {
            error = $"frequency `{left[1]}` is not a whole number of seconds of at least 1";
            return null;
        }

        var method = right[0];
        if (!Methods.ContainsKey(method))
        {
            error = $"method `{method}` is not one of {string.Join(", ", Methods.Keys)}";
            return null;
        }

        var fields = new List<string>();
        var pattern = new StringBuilder();
        foreach (var part in right[1].Split('.'))
        {
            if (pattern.Length > 0)
            {
                pattern.Append(@"\.");
            }

            int i, j;
            if (part.Contains("<<", StringComparison.Ordinal) && part.Contains(">>", StringComparison.Ordinal))
            {
                i = part.IndexOf("<<", StringComparison.Ordinal);
                j = part.IndexOf(">>", StringComparison.Ordinal);
                var name = j > i ? part[(i + 2)..j] : string.Empty;
                fields.Add(name);
                pattern.Append(j > i ? $"{part[..i]}(?<{name}>.+?){part[(j + 2)..]}" : "(");
            }
            else if ((i = part.IndexOf('<', StringComparison.Ordinal)) > -1 && (j = part.IndexOf('>', StringComparison.Ordinal)) > i)
            {
                var name = part[(i + 1)..j];
                fields.Add(name);
                pattern.Append(CultureInfo.InvariantCulture, $"{part[..i]}(?<{name}>[^.]+?){part[(j + 1)..]}");
            }
            else
            {
                pattern.Append(part == "*" ? "[^.]+" : part.Replace("*", "[^.]*", StringComparison.Ordinal));
            }
        }

        if (fields.FirstOrDefault(f => !FieldName().IsMatch(f)) is { } bad)
        {
            error = $"field `<{bad}>` of the input pattern is not a name (letters, digits, _)";
            return null;
        }

        Regex regex;
        try
        {
            // Python's re.match: anchored at the start; the pattern ends in $ (carbon appends it).
            regex = new Regex($@"\A(?:{pattern})\z", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException ex)
        {
            error = $"input pattern `{right[1]}` does not compile: {ex.Message}";
            return null;
        }

        // build_template: <field> becomes %(field)s; a field the input does not capture is a KeyError in carbon.
        var template = new List<(string, string?)>();
        var output = left[0];
        var at = 0;
        while (at < output.Length)
        {
            var open = output.IndexOf('<', at);
            if (open < 0)
            {
                template.Add((output[at..], null));
                break;
            }

            var close = output.IndexOf('>', open);
            var field = close < 0 ? string.Empty : output[(open + 1)..close];
            if (close < 0 || !fields.Contains(field))
            {
                error = $"output template `{output}` uses `<{field}>`, which the input pattern does not capture";
                return null;
            }

            template.Add((output[at..open], null));
            template.Add((string.Empty, field));
            at = close + 1;
        }

        if (output.Contains('%', StringComparison.Ordinal) || output.Contains('>', StringComparison.Ordinal) && template.Count(t => t.Item2 is not null) != output.Count(c => c == '>'))
        {
            error = $"output template `{output}` has a stray %, < or >";
            return null;
        }

        return new GraphiteAggregationRule(line, output, frequency, method, right[1], regex, [.. template]);
    }

    /// <summary>The aggregate metric for an input name, or null when the rule does not match it.</summary>
    public string? AggregateName(string metric)
    {
        Match match;
        try
        {
            match = _regex.Match(metric);
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }

        if (!match.Success)
        {
            return null;
        }

        var name = new StringBuilder();
        foreach (var (text, field) in _template)
        {
            name.Append(field is null ? text : match.Groups[field].Value);
        }

        return name.ToString();
    }

    /// <summary>Python's <c>sum</c> on floats before 3.12: left to right from 0.</summary>
    private static double Sum(List<double> values)
    {
        var total = 0.0;
        foreach (var v in values)
        {
            total += v;
        }

        return total;
    }

    private static double Percentile(List<double> values, double factor)
    {
        var sorted = values.Order().ToList();
        var rank = factor * (sorted.Count - 1);
        var left = (int)Math.Floor(rank);
        var right = (int)Math.Ceiling(rank);
        return left == right ? sorted[left] : (sorted[left] * (right - rank)) + (sorted[right] * (rank - left));
    }

    private static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    [GeneratedRegex(@"\A[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex FieldName();
}

/// <summary>
/// carbon-aggregator's buffers (carbon/aggregator/buffers.py and processor.py) with one change: values are
/// computed at wall-clock frequency boundaries (every multiple of a buffer's frequency) instead of on a timer
/// started when the buffer was created, so a live interval is emitted once, complete, as it closes.
/// Otherwise as carbon: each input point goes into the buffer of every aggregate name a rule gives it (the
/// first rule to create a buffer sets its frequency and method), into the interval
/// <c>timestamp - timestamp % frequency</c>; at a compute every interval that received points since the last
/// one is emitted with the method over all its values (so a late point re-emits its interval with the whole
/// value: carbon keeps the last value per timestamp); intervals older than <c>MaxIntervals</c> frequencies
/// before the current one are forgotten. Inputs are passed on unless their name is one of their own aggregates
/// (carbon's FORWARD_ALL, the default) or forwarding is off.
/// </summary>
internal sealed class GraphiteAggregator
{
    private readonly Dictionary<string, Buffer> _buffers = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly HashSet<string> _aggregates = new(StringComparer.Ordinal);

    public GraphiteAggregator(IReadOnlyList<GraphiteAggregationRule> rules, int maxIntervals = 5, bool forwardInputs = true)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        MaxIntervals = maxIntervals;
        ForwardInputs = forwardInputs;
    }

    public IReadOnlyList<GraphiteAggregationRule> Rules { get; }

    public int MaxIntervals { get; }

    public bool ForwardInputs { get; }

    /// <summary>Distinct frequencies, for the timer.</summary>
    public IEnumerable<int> Frequencies => Rules.Select(r => r.Frequency).Distinct();

    /// <summary>Buffers (aggregate names) held now.</summary>
    public int BufferCount
    {
        get
        {
            lock (_lock)
            {
                return _buffers.Count;
            }
        }
    }

    /// <summary>Reads an aggregation-rules.conf; errors name the file and line.</summary>
    public static List<GraphiteAggregationRule>? Load(string path, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add($"aggregation rules file '{path}' cannot be read: {ex.Message}");
            return null;
        }

        var before = errors.Count;
        var rules = new List<GraphiteAggregationRule>();
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            if (GraphiteAggregationRule.Parse(text, i + 1, out var error) is { } rule)
            {
                rules.Add(rule);
            }
            else
            {
                errors.Add($"aggregation rules file '{path}' line {i + 1} ({text}): {error}");
            }
        }

        return errors.Count == before ? rules : null;
    }

    /// <summary>Takes one point; true when the input itself should still be forwarded.</summary>
    public bool Input(string metric, double value, double timestamp)
    {
        ArgumentNullException.ThrowIfNull(metric);
        lock (_lock)
        {
            _aggregates.Clear();
            foreach (var rule in Rules)
            {
                if (rule.AggregateName(metric) is not { } name)
                {
                    continue;
                }

                _aggregates.Add(name);
                if (!_buffers.TryGetValue(name, out var buffer))
                {
                    _buffers[name] = buffer = new Buffer(rule);
                }

                var interval = timestamp - PythonMod(timestamp, buffer.Rule.Frequency);
                if (!buffer.Intervals.TryGetValue(interval, out var values))
                {
                    buffer.Intervals[interval] = values = new Interval();
                }

                values.Values.Add(value);
                values.Active = true;
            }

            return ForwardInputs && !_aggregates.Contains(metric);
        }
    }

    /// <summary>
    /// carbon's <c>compute_value</c> for the buffers whose frequency divides <paramref name="now"/> (all of them
    /// with <paramref name="all"/>): appends each active interval as a line <c>name value timestamp\n</c>.
    /// Returns the number of lines.
    /// </summary>
    public int Compute(long now, StringBuilder output, bool all = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        var lines = 0;
        lock (_lock)
        {
            foreach (var (name, buffer) in _buffers.ToList())
            {
                var frequency = buffer.Rule.Frequency;
                if (!all && now % frequency != 0)
                {
                    continue;
                }

                var current = now - (now % frequency);
                var threshold = current - ((long)MaxIntervals * frequency);
                foreach (var (start, interval) in buffer.Intervals.ToList())
                {
                    if (interval.Active)
                    {
                        var value = buffer.Rule.Compute(interval.Values);
                        output.Append(name).Append(' ').Append(Format(value, buffer.Rule.IsInteger)).Append(' ')
                            .Append(((long)Math.Floor(start)).ToString(CultureInfo.InvariantCulture)).Append('\n');
                        interval.Active = false;
                        lines++;
                    }

                    if (start < threshold)
                    {
                        buffer.Intervals.Remove(start);
                        if (buffer.Intervals.Count == 0)
                        {
                            _buffers.Remove(name);
                        }
                    }
                }
            }
        }

        return lines;
    }

    /// <summary>carbon's line client: <c>("%.10f" % v).rstrip('0').rstrip('.')</c> for a float, <c>%d</c> for an int.</summary>
    public static string Format(double value, bool whole)
    {
        if (whole)
        {
            return ((long)value).ToString(CultureInfo.InvariantCulture);
        }

        var text = value.ToString("F10", CultureInfo.InvariantCulture).TrimEnd('0');
        return text.EndsWith('.') ? text[..^1] : text;
    }

    /// <summary>Python's <c>%</c> on floats: the result takes the divisor's sign.</summary>
    private static double PythonMod(double a, double b)
    {
        var r = a % b;
        return r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }

    private sealed class Buffer(GraphiteAggregationRule rule)
    {
        public GraphiteAggregationRule Rule { get; } = rule;

        public Dictionary<double, Interval> Intervals { get; } = [];
    }

    private sealed class Interval
    {
        public List<double> Values { get; } = [];

        public bool Active { get; set; }
    }
}

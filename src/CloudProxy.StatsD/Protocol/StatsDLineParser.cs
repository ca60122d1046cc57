namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// Reads one StatsD line a client sent in a text batch (<c>key:value|type[|@rate][|#tags]</c>), validates
/// every part and appends it, rebuilt, to the builder. The client did its own sampling, so a rate is passed
/// on as is; a signed gauge value is a shift, as StatsD reads it.
/// </summary>
internal static class StatsDLineParser
{
    public static bool TryAppend(StatsDLineBuilder builder, StatsDKeyPolicy policy, ReadOnlySpan<char> line, out StatsDError error)
    {
        var colon = line.IndexOf(':');
        if (colon < 0)
        {
            error = new StatsDError(StatsDProblem.MalformedLine, "line has no ':' between key and value");
            return false;
        }

        var key = line[..colon];
        var rest = line[(colon + 1)..];
        var pipe = rest.IndexOf('|');
        if (pipe < 0)
        {
            error = new StatsDError(StatsDProblem.MalformedLine, "line has no '|' before the metric type");
            return false;
        }

        var value = rest[..pipe];
        rest = rest[(pipe + 1)..];
        pipe = rest.IndexOf('|');
        var typeText = pipe < 0 ? rest : rest[..pipe];
        if (!StatsDMetricTypes.TryParseSuffix(typeText, out var type))
        {
            error = new StatsDError(StatsDProblem.InvalidType, "metric type must be one of " + StatsDMetricTypes.SuffixList);
            return false;
        }

        double rate = 1;
        ReadOnlySpan<char> tags = default;
        bool seenRate = false, seenTags = false;
        while (pipe >= 0)
        {
            rest = rest[(pipe + 1)..];
            pipe = rest.IndexOf('|');
            var field = pipe < 0 ? rest : rest[..pipe];
            if (field.Length > 0 && field[0] == '@' && !seenRate)
            {
                seenRate = true;
                if (!StatsDNumber.TryParseSampleRate(field[1..], out rate))
                {
                    error = new StatsDError(StatsDProblem.InvalidSampleRate, "sample rate must be a number greater than 0 and at most 1");
                    return false;
                }
            }
            else if (field.Length > 0 && field[0] == '#' && !seenTags)
            {
                seenTags = true;
                tags = field[1..];
                if (tags.IsEmpty)
                {
                    error = new StatsDError(StatsDProblem.InvalidTags, "tag list after '#' is empty");
                    return false;
                }
            }
            else
            {
                error = new StatsDError(StatsDProblem.MalformedLine, "unexpected field after the metric type (expected one '|@rate' and one '|#tags')");
                return false;
            }
        }

        var relative = StatsDMetricTypes.Of(type).Shifts && value.Length > 0 && value[0] is '+' or '-';
        return StatsDMetricWriter.TryAppend(builder, policy, key, type, value, relative, rate, tags, out error);
    }
}

namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// Turns one metric (key, type, value text, rate, tags) into validated StatsD lines. Nothing is written
/// unless everything is valid.
/// </summary>
internal static class StatsDMetricWriter
{
    /// <summary>
    /// Validates and appends. <paramref name="relative"/> makes a gauge value a shift (<c>+N</c>/<c>-N</c>).
    /// A negative absolute gauge is written as <c>key:0|g</c> then <c>key:-N|g</c>, since StatsD reads a
    /// lone <c>-N|g</c> as a decrement. The sample rate (already validated, in (0, 1]) is written for
    /// the types whose <see cref="StatsDMetricTypeInfo.Sampled"/> is set (counters and timers): StatsD ignores it
    /// on gauges and sets. The value's rules are the type's <see cref="StatsDMetricTypeInfo.Value"/>.
    /// </summary>
    public static bool TryAppend(
        StatsDLineBuilder builder,
        StatsDKeyPolicy policy,
        ReadOnlySpan<char> key,
        StatsDMetricType type,
        ReadOnlySpan<char> value,
        bool relative,
        double sampleRate,
        ReadOnlySpan<char> tags,
        out StatsDError error)
    {
        var keyBuffer = key.Length <= 256 ? stackalloc char[key.Length] : new char[key.Length];
        if (!policy.TryNormalizeKey(key, keyBuffer, out var keyLength, out error))
        {
            return false;
        }

        var tagBuffer = tags.Length <= 512 ? stackalloc char[tags.Length] : new char[tags.Length];
        if (!policy.TryNormalizeTags(tags, tagBuffer, out var tagLength, out error))
        {
            return false;
        }

        var normalizedKey = keyBuffer[..keyLength];
        var normalizedTags = tagBuffer[..tagLength];
        var info = StatsDMetricTypes.Of(type);
        var rate = info.Sampled ? sampleRate : 1;

        if (info.Value == StatsDValueKind.Text)
        {
            var problem = StatsDNames.ValidateSetValue(value);
            if (problem is not null)
            {
                error = new StatsDError(value.IsEmpty ? StatsDProblem.MissingValue : StatsDProblem.InvalidValue, problem);
                return false;
            }

            var setValue = value.Length <= 256 ? stackalloc byte[value.Length * 3] : new byte[value.Length * 3];
            var setLength = System.Text.Encoding.UTF8.GetBytes(value, setValue);
            builder.AppendMetric(policy.PrefixUtf8, normalizedKey, setValue[..setLength], type, 1, normalizedTags);
            return true;
        }

        if (!StatsDNumber.TryParse(value, out var number))
        {
            error = value.IsEmpty
                ? new StatsDError(StatsDProblem.MissingValue, $"{Describe(info, relative)} is missing")
                : new StatsDError(StatsDProblem.InvalidValue, $"{Describe(info, relative)} is not a finite number in invariant format (e.g. 12 or -3.5)");
            return false;
        }

        if (info.Value == StatsDValueKind.NonNegativeNumber && number < 0)
        {
            error = new StatsDError(StatsDProblem.InvalidValue, $"{info.ValueName} must not be negative");
            return false;
        }

        Span<byte> text = stackalloc byte[StatsDNumber.MaxFormattedLength];
        if (info.Shifts && !relative && number < 0)
        {
            builder.AppendMetric(policy.PrefixUtf8, normalizedKey, "0"u8, type, 1, normalizedTags);
        }

        var length = StatsDNumber.Format(number, text, forceSign: relative && info.Shifts);
        builder.AppendMetric(policy.PrefixUtf8, normalizedKey, text[..length], type, rate, normalizedTags);
        error = default;
        return true;
    }

    private static string Describe(StatsDMetricTypeInfo info, bool relative) => relative && info.Shifts ? "shift" : info.ValueName;
}

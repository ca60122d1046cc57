using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// The ingress's rules for names: the metric prefix, whether bad keys are refused or sanitized, and whether
/// DogStatsD tags are accepted. Immutable; built once from the options.
/// </summary>
internal sealed class StatsDKeyPolicy
{
    private readonly byte[] _prefixUtf8;

    public StatsDKeyPolicy(string? metricPrefix, StatsDInvalidKeys invalidKeys, bool tagsEnabled)
    {
        Prefix = NormalizePrefix(metricPrefix);
        _prefixUtf8 = Encoding.UTF8.GetBytes(Prefix);
        InvalidKeys = invalidKeys;
        TagsEnabled = tagsEnabled;
    }

    /// <summary>The prefix as applied: statsd-http-proxy adds a dot when the configured one lacks it.</summary>
    public string Prefix { get; }

    public ReadOnlySpan<byte> PrefixUtf8 => _prefixUtf8;

    public StatsDInvalidKeys InvalidKeys { get; }

    public bool TagsEnabled { get; }

    public static string NormalizePrefix(string? prefix) =>
        string.IsNullOrEmpty(prefix) ? string.Empty : prefix.EndsWith('.') ? prefix : prefix + ".";

    /// <summary>
    /// Checks (or sanitizes) <paramref name="key"/> into <paramref name="destination"/> (at least as long as
    /// the key). The prefix is not written, but counts towards the length limit.
    /// </summary>
    public bool TryNormalizeKey(ReadOnlySpan<char> key, Span<char> destination, out int written, out StatsDError error)
    {
        if (InvalidKeys == StatsDInvalidKeys.Sanitize)
        {
            written = StatsDNames.Sanitize(key, destination);
        }
        else
        {
            key.CopyTo(destination);
            written = key.Length;
        }

        var problem = StatsDNames.ValidateKey(destination[..written]);
        if (problem is null && _prefixUtf8.Length + Encoding.UTF8.GetByteCount(destination[..written]) > StatsDNames.MaxKeyBytes)
        {
            problem = $"key is longer than {StatsDNames.MaxKeyBytes} bytes (prefix included)";
        }

        if (problem is not null)
        {
            error = new StatsDError(StatsDProblem.InvalidKey, key.IsEmpty || written > 0 ? problem : "key is empty after sanitizing");
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>
    /// Checks (or sanitizes) a comma-separated tag list (<c>a:b,c</c>) into <paramref name="destination"/>
    /// (at least as long as the input). Empty input is no tags.
    /// </summary>
    public bool TryNormalizeTags(ReadOnlySpan<char> tags, Span<char> destination, out int written, out StatsDError error)
    {
        written = 0;
        error = default;
        if (tags.IsEmpty)
        {
            return true;
        }

        if (!TagsEnabled)
        {
            error = new StatsDError(StatsDProblem.TagsDisabled, "tags are not enabled on this proxy (CloudProxy:StatsD:Ingress:DogStatsDTags)");
            return false;
        }

        var count = 0;
        foreach (var range in tags.Split(','))
        {
            var tag = tags[range];
            if (++count > StatsDNames.MaxTags)
            {
                error = new StatsDError(StatsDProblem.InvalidTags, $"more than {StatsDNames.MaxTags} tags");
                return false;
            }

            if (written > 0)
            {
                destination[written++] = ',';
            }

            var start = written;
            if (InvalidKeys == StatsDInvalidKeys.Sanitize)
            {
                written += StatsDNames.Sanitize(tag, destination[written..], keepColon: true);
            }
            else
            {
                tag.CopyTo(destination[written..]);
                written += tag.Length;
            }

            var problem = StatsDNames.ValidateTag(destination[start..written]);
            if (problem is not null)
            {
                error = new StatsDError(StatsDProblem.InvalidTags, $"tag {count}: {problem}");
                return false;
            }
        }

        return true;
    }
}

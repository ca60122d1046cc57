using System.Globalization;

namespace CloudProxy.Sentry.Protocol;

internal enum SentryRateLimitScope
{
    Organization = 0,
    Project = 1,
    Key = 2,
}

/// <summary>
/// One limit an upstream announced. <see cref="ScopeValue"/> is the INGRESS-side key or project id (what the
/// SDK sent), so the ingress can match it without knowing the upstream's mapping; null for organization scope.
/// </summary>
internal sealed record SentryRateLimit(
    string Upstream,
    SentryCategories Categories,
    string CategoryText,
    SentryRateLimitScope Scope,
    string? ScopeValue,
    string? ReasonCode,
    DateTimeOffset ExpiresAt)
{
    public bool Covers(string? key, string? project, SentryCategories requested)
    {
        var scoped = Scope switch
        {
            SentryRateLimitScope.Key => ScopeValue is not null && string.Equals(ScopeValue, key, StringComparison.OrdinalIgnoreCase),
            SentryRateLimitScope.Project => ScopeValue is not null && string.Equals(ScopeValue, project, StringComparison.Ordinal),
            _ => true,
        };

        // Client reports are never limited (Relay); a limit with no categories covers all the others.
        var limitable = requested & ~SentryCategories.Internal;
        return scoped && limitable != SentryCategories.None && (Categories == SentryCategories.None || (limitable & ~Categories) == 0);
    }

    /// <summary>This limit as one <c>X-Sentry-Rate-Limits</c> entry with the seconds left.</summary>
    public string ToHeaderEntry(DateTimeOffset now)
    {
        var seconds = SecondsLeft(now);
        var scope = Scope switch
        {
            SentryRateLimitScope.Key => "key",
            SentryRateLimitScope.Project => "project",
            _ => "organization",
        };
        return ReasonCode is null
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds}:{CategoryText}:{scope}")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds}:{CategoryText}:{scope}:{ReasonCode}");
    }

    public long SecondsLeft(DateTimeOffset now) => Math.Max(1, (long)Math.Ceiling((ExpiresAt - now).TotalSeconds));
}

/// <summary>Reads <c>X-Sentry-Rate-Limits</c> and <c>Retry-After</c> as Sentry's SDKs and Relay do.</summary>
internal static class SentryRateLimitParser
{
    /// <summary>Sentry's SDKs wait this long after a 429 that names no time.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>retry_after:categories:scope:reason_code:namespaces</c>, entries separated by commas, categories by
    /// semicolons; empty categories = all; missing scope = organization.
    /// </summary>
    public static List<SentryRateLimit> ParseRateLimits(string header, string upstream, string? key, string? project, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(header);
        var limits = new List<SentryRateLimit>();
        foreach (var raw in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = raw.Split(':');
            if (!double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || double.IsNaN(seconds))
            {
                continue;
            }

            var categoryText = fields.Length > 1 ? fields[1].Trim() : string.Empty;
            var categories = SentryCategories.None;
            foreach (var name in categoryText.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                categories |= SentryCategoryNames.FromName(name);
            }

            var scopeText = fields.Length > 2 ? fields[2].Trim() : string.Empty;
            var scope = scopeText.ToLowerInvariant() switch
            {
                "key" => SentryRateLimitScope.Key,
                "project" => SentryRateLimitScope.Project,
                _ => SentryRateLimitScope.Organization,
            };
            var reason = fields.Length > 3 && fields[3].Trim().Length > 0 ? fields[3].Trim() : null;
            var value = scope switch
            {
                SentryRateLimitScope.Key => key,
                SentryRateLimitScope.Project => project,
                _ => null,
            };
            var expires = now + TimeSpan.FromSeconds(Math.Min(seconds, 86_400));
            limits.Add(new SentryRateLimit(upstream, categories, categoryText, scope, value, reason, expires));
        }

        return limits;
    }

    /// <summary><c>Retry-After</c> in seconds or as an HTTP date; <see cref="DefaultRetryAfter"/> when absent or unreadable.</summary>
    public static TimeSpan ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultRetryAfter;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && !double.IsNaN(seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, 86_400));
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) && date > now
            ? date - now
            : DefaultRetryAfter;
    }
}

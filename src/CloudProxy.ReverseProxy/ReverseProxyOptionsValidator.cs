using CloudProxy.Core.Options;
using CloudProxy.ReverseProxy.Backpressure;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.ReverseProxy.RateLimiting;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy;

/// <summary>Checks every reverse-proxy setting and reports all failures at once, each naming the setting and its flag.</summary>
internal sealed class ReverseProxyOptionsValidator : IValidateOptions<ReverseProxyOptions>
{
    private const string S = ReverseProxyOptions.Section;

    public ValidateOptionsResult Validate(string? name, ReverseProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (ProxyListenAddress.TryParse(options.Listen, out _) is { } listenProblem)
        {
            failures.Add($"{SettingCatalog.Name<ReverseProxyOptions>(S, nameof(ReverseProxyOptions.Listen))}: {listenProblem}");
        }

        if (!string.IsNullOrEmpty(options.ProxyUrl)
            && (!Uri.TryCreate(options.ProxyUrl, UriKind.Absolute, out var proxyUrl) || proxyUrl.Scheme is not ("http" or "https")))
        {
            failures.Add($"{SettingCatalog.Name<ReverseProxyOptions>(S, nameof(ReverseProxyOptions.ProxyUrl))}: '{SecretRedaction.Redact(options.ProxyUrl)}' is not an http(s) URL");
        }

        if (!string.IsNullOrEmpty(options.ConfigFile) && !File.Exists(options.ConfigFile))
        {
            failures.Add($"{SettingCatalog.Name<ReverseProxyOptions>(S, nameof(ReverseProxyOptions.ConfigFile))}: file '{options.ConfigFile}' does not exist");
        }

        if (!string.IsNullOrEmpty(options.RedisAddress) && options.RedisAddress.Trim().Length == 0)
        {
            failures.Add($"{SettingCatalog.Name<ReverseProxyOptions>(S, nameof(ReverseProxyOptions.RedisAddress))} must not be blank");
        }

        if (options.BackendTimeoutSeconds is <= 0 or > 3600)
        {
            failures.Add($"{S}:BackendTimeoutSeconds must be between 0 and 3600 (got {options.BackendTimeoutSeconds})");
        }

        ValidateCache(options.Cache, failures);
        ValidateRateLimit(options.RateLimit, failures);
        ValidateBackpressure(options.Backpressure, failures);
        ValidatePurge(options.Purge, failures);
        if (options.Jitter.MaxDelayMs is < 0 or > 60_000)
        {
            failures.Add($"{S}:Jitter:MaxDelayMs must be between 0 and 60000 (got {options.Jitter.MaxDelayMs})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateCache(ProxyCacheOptions o, List<string> failures)
    {
        if (o.DefaultTtlSeconds < 0 || o.MaxTtlSeconds <= 0)
        {
            failures.Add($"{S}:Cache:DefaultTtlSeconds must be >= 0 and MaxTtlSeconds > 0");
        }

        if (o.MaxEntryBytes is < 0 or > int.MaxValue)
        {
            failures.Add($"{S}:Cache:MaxEntryBytes must be between 0 and {int.MaxValue} (got {o.MaxEntryBytes})");
        }

        if (o.MemoryMaxBytes < 1024)
        {
            failures.Add($"{S}:Cache:MemoryMaxBytes must be at least 1024 (got {o.MemoryMaxBytes})");
        }

        if (o.StoreTimeoutMs <= 0 || o.OutageBackoffSeconds < 0 || o.CoalesceWaitSeconds < 0)
        {
            failures.Add($"{S}:Cache:StoreTimeoutMs must be > 0, OutageBackoffSeconds and CoalesceWaitSeconds >= 0");
        }

        foreach (var (name, value) in new[]
        {
            ("StaleWhileRevalidateSeconds", o.StaleWhileRevalidateSeconds), ("StaleIfErrorSeconds", o.StaleIfErrorSeconds), ("KeepSeconds", o.KeepSeconds),
            ("MaxStaleSeconds", o.MaxStaleSeconds),
        })
        {
            if (value is < 0 or > 31_536_000)
            {
                failures.Add($"{S}:Cache:{name} must be between 0 and 31536000 (a year; got {value})");
            }
        }

        if (o.RefreshConcurrency is < 1 or > 10_000)
        {
            failures.Add($"{S}:Cache:RefreshConcurrency must be between 1 and 10000 (got {o.RefreshConcurrency})");
        }
    }

    private static void ValidateRateLimit(ProxyRateLimitOptions o, List<string> failures)
    {
        if (o.RequestsPerMinute < 0 || o.Burst < 0)
        {
            failures.Add($"{SettingCatalog.Name<ProxyRateLimitOptions>(S + ":RateLimit", nameof(ProxyRateLimitOptions.RequestsPerMinute))} and Burst must be >= 0");
        }

        if (!Enum.IsDefined(o.Algorithm))
        {
            failures.Add($"{S}:RateLimit:Algorithm must be TokenBucket or SlidingWindow");
        }

        if (!Enum.IsDefined(o.PartitionBy))
        {
            failures.Add($"{S}:RateLimit:PartitionBy must be ClientIp or Header");
        }

        if (o.PartitionBy == RateLimitPartitionBy.Header && string.IsNullOrWhiteSpace(o.Header))
        {
            failures.Add($"{S}:RateLimit:Header must name a header when PartitionBy is Header");
        }

        foreach (var proxy in o.TrustedProxies.Where(p => ProxyClientIdentity.ParseNetwork(p) is null))
        {
            failures.Add($"{S}:RateLimit:TrustedProxies: '{proxy}' is not an IP address or CIDR range");
        }
    }

    private static void ValidatePurge(ProxyPurgeOptions o, List<string> failures)
    {
        if (o.Enabled && o.Token.Length < 16)
        {
            failures.Add($"{S}:Purge:Token must be at least 16 characters when set (got {o.Token.Length})");
        }

        if (string.IsNullOrEmpty(o.Path) || o.Path[0] != '/' || o.Path.Any(c => char.IsControl(c) || c is '?' or '#' or ' '))
        {
            failures.Add($"{S}:Purge:Path must be a path starting with / (got '{o.Path}')");
        }

        if (o.SyncIntervalMs is < 50 or > 600_000)
        {
            failures.Add($"{S}:Purge:SyncIntervalMs must be between 50 and 600000 (got {o.SyncIntervalMs})");
        }

        if (o.MaxRecords is < 10 or > 1_000_000)
        {
            failures.Add($"{S}:Purge:MaxRecords must be between 10 and 1000000 (got {o.MaxRecords})");
        }
    }

    /// <summary>An RFC 9110 token: what a header name may be.</summary>
    internal static bool IsToken(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));

    private static void ValidateBackpressure(ProxyBackpressureOptions o, List<string> failures)
    {
        if (!o.Enabled)
        {
            return;
        }

        if (o.MinWindow < 1)
        {
            failures.Add($"{S}:Backpressure:MinWindow must be at least 1 (got {o.MinWindow})");
        }

        if (o.MaxWindow <= o.MinWindow)
        {
            failures.Add($"{S}:Backpressure:MaxWindow must be greater than MinWindow (got max {o.MaxWindow}, min {o.MinWindow})");
        }

        if (o.DecreaseFactor is <= 0 or >= 1)
        {
            failures.Add($"{S}:Backpressure:DecreaseFactor must be between 0 and 1, exclusive (got {o.DecreaseFactor})");
        }

        if (o.QueueTimeoutMs < 0 || o.RetryAfterSeconds < 0 || o.LatencyThresholdMs < 0)
        {
            failures.Add($"{S}:Backpressure:QueueTimeoutMs, RetryAfterSeconds and LatencyThresholdMs must be >= 0");
        }

        if (o.RefusalStatusCode is not (429 or 503))
        {
            failures.Add($"{S}:Backpressure:RefusalStatusCode must be 429 or 503 (got {o.RefusalStatusCode})");
        }

        if (o.FailSafeWindow != 0 && (o.FailSafeWindow < o.MinWindow || o.FailSafeWindow > o.MaxWindow))
        {
            failures.Add($"{S}:Backpressure:FailSafeWindow must be between MinWindow and MaxWindow, or 0 for halfway (got {o.FailSafeWindow})");
        }

        if (o.FailSafeSeconds is <= 0 or > 86_400)
        {
            failures.Add($"{S}:Backpressure:FailSafeSeconds must be between 0 (exclusive) and 86400 (got {o.FailSafeSeconds})");
        }

        if (o.CriticalityHeader is { Length: > 0 } header && !IsToken(header))
        {
            failures.Add($"{S}:Backpressure:CriticalityHeader must be a header name (got '{header}')");
        }

        if (o.EvaluationIntervalSeconds <= 0 || o.QueryTimeoutSeconds <= 0)
        {
            failures.Add($"{S}:Backpressure:EvaluationIntervalSeconds and QueryTimeoutSeconds must be > 0");
        }

        if (o.Queries.Count > 0 && (!Uri.TryCreate(o.PrometheusUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
        {
            failures.Add($"{S}:Backpressure:PrometheusUrl must be an http(s) URL when Queries are given (got '{SecretRedaction.Redact(o.PrometheusUrl)}')");
        }

        for (var i = 0; i < o.Queries.Count; i++)
        {
            var q = o.Queries[i];
            var at = $"{S}:Backpressure:Queries:{i}";
            if (ProxyPromQlSyntax.Problem(q.Query) is { } problem)
            {
                failures.Add($"{at}:Query is not valid PromQL: it {problem}");
            }

            if (q.WarningThreshold.HasValue != q.EmergencyThreshold.HasValue)
            {
                failures.Add($"{at}: WarningThreshold and EmergencyThreshold go together (a value query) or not at all (a condition query)");
            }
            else if (q.WarningThreshold is { } warning && q.EmergencyThreshold is { } emergency && !(emergency > warning))
            {
                failures.Add($"{at}: EmergencyThreshold must be greater than WarningThreshold (got {warning} and {emergency})");
            }
        }
    }
}

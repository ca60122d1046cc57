using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// The effective cache and rate-limit settings of one route: the global options, overridden by the route's
/// YARP <c>Metadata</c> keys below. Computed once per route configuration object (YARP replaces the object on
/// reload), so the hot path never parses strings.
/// </summary>
internal sealed class ProxyRouteSettings
{
    public const string CacheEnabledKey = "CloudProxy.Cache.Enabled";
    public const string CacheTtlKey = "CloudProxy.Cache.TtlSeconds";
    public const string CacheMaxTtlKey = "CloudProxy.Cache.MaxTtlSeconds";
    public const string CacheMaxEntryBytesKey = "CloudProxy.Cache.MaxEntryBytes";
    public const string CacheAllowAuthorizationKey = "CloudProxy.Cache.AllowAuthorization";
    public const string CacheAllowSetCookieKey = "CloudProxy.Cache.AllowSetCookie";
    public const string CacheAllowCookieKey = "CloudProxy.Cache.AllowCookie";
    public const string CacheStaleWhileRevalidateKey = "CloudProxy.Cache.StaleWhileRevalidateSeconds";
    public const string CacheStaleIfErrorKey = "CloudProxy.Cache.StaleIfErrorSeconds";
    public const string RequestsPerMinuteKey = "CloudProxy.RateLimit.RequestsPerMinute";
    public const string BurstKey = "CloudProxy.RateLimit.Burst";
    public const string CriticalityKey = "CloudProxy.Backpressure.Criticality";

    private static readonly ConditionalWeakTable<RouteConfig, ProxyRouteSettings> PerRoute = [];

    public required string RouteId { get; init; }

    public bool CacheEnabled { get; init; }

    public double DefaultTtlSeconds { get; init; }

    public double MaxTtlSeconds { get; init; }

    public long MaxEntryBytes { get; init; }

    public bool AllowAuthorization { get; init; }

    public bool AllowSetCookie { get; init; }

    public bool AllowCookie { get; init; }

    /// <summary>stale-while-revalidate for responses that state none (seconds; 0 = off).</summary>
    public double StaleWhileRevalidateSeconds { get; init; }

    /// <summary>stale-if-error for responses that state none (seconds; 0 = off).</summary>
    public double StaleIfErrorSeconds { get; init; }

    /// <summary>Upper bound on the stale windows (global <c>Cache:MaxStaleSeconds</c>).</summary>
    public double MaxStaleSeconds { get; init; } = 86_400;

    /// <summary>How long an entry with a validator outlives its freshness, for conditional requests (global <c>Cache:KeepSeconds</c>).</summary>
    public double KeepSeconds { get; init; }

    public int RequestsPerMinute { get; init; }

    public int Burst { get; init; }

    /// <summary>The class of this route's requests when they name none (header <c>Backpressure:CriticalityHeader</c>).</summary>
    public Backpressure.ProxyCriticality Criticality { get; init; } = Backpressure.ProxyCriticality.Default;

    /// <summary>The route id for metrics, or <c>unmatched</c> when no route took the request.</summary>
    public static string RouteIdOf(HttpContext context) =>
        context?.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "unmatched";

    public static ProxyRouteSettings For(RouteConfig route, ReverseProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(options);
        return PerRoute.GetValue(route, r => Create(r, options));
    }

    /// <summary>Names every metadata value that does not parse, for the start-up and reload checks.</summary>
    public static IEnumerable<string> Problems(RouteConfig route)
    {
        ArgumentNullException.ThrowIfNull(route);
        var metadata = route.Metadata ?? new Dictionary<string, string>();
        foreach (var key in new[] { CacheEnabledKey, CacheAllowAuthorizationKey, CacheAllowSetCookieKey, CacheAllowCookieKey })
        {
            if (metadata.TryGetValue(key, out var v) && !bool.TryParse(v, out _))
            {
                yield return $"route '{route.RouteId}': Metadata {key} must be true or false (got '{v}')";
            }
        }

        foreach (var key in new[] { CacheTtlKey, CacheMaxTtlKey, CacheMaxEntryBytesKey, RequestsPerMinuteKey, BurstKey, CacheStaleWhileRevalidateKey, CacheStaleIfErrorKey })
        {
            if (metadata.TryGetValue(key, out var v) && (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d < 0))
            {
                yield return $"route '{route.RouteId}': Metadata {key} must be a number >= 0 (got '{v}')";
            }
        }

        if (metadata.TryGetValue(CriticalityKey, out var criticality) && !Backpressure.ProxyCriticalityOf.TryParse(criticality, out _))
        {
            yield return $"route '{route.RouteId}': Metadata {CriticalityKey} must be critical, default or sheddable (got '{criticality}')";
        }
    }

    private static ProxyRouteSettings Create(RouteConfig route, ReverseProxyOptions options)
    {
        var m = route.Metadata ?? new Dictionary<string, string>();
        var rpm = (int)Number(m, RequestsPerMinuteKey, options.RateLimit.RequestsPerMinute);
        var burst = (int)Number(m, BurstKey, options.RateLimit.Burst);
        return new ProxyRouteSettings
        {
            RouteId = route.RouteId,
            CacheEnabled = Flag(m, CacheEnabledKey, options.Cache.Enabled),
            DefaultTtlSeconds = Number(m, CacheTtlKey, options.Cache.DefaultTtlSeconds),
            MaxTtlSeconds = Number(m, CacheMaxTtlKey, options.Cache.MaxTtlSeconds),
            MaxEntryBytes = (long)Number(m, CacheMaxEntryBytesKey, options.Cache.MaxEntryBytes),
            AllowAuthorization = Flag(m, CacheAllowAuthorizationKey, options.Cache.AllowAuthorization),
            AllowSetCookie = Flag(m, CacheAllowSetCookieKey, options.Cache.AllowSetCookie),
            AllowCookie = Flag(m, CacheAllowCookieKey, options.Cache.AllowCookie),
            StaleWhileRevalidateSeconds = Number(m, CacheStaleWhileRevalidateKey, options.Cache.StaleWhileRevalidateSeconds),
            StaleIfErrorSeconds = Number(m, CacheStaleIfErrorKey, options.Cache.StaleIfErrorSeconds),
            KeepSeconds = options.Cache.KeepSeconds,
            MaxStaleSeconds = options.Cache.MaxStaleSeconds,
            RequestsPerMinute = rpm,
            Burst = burst > 0 ? burst : rpm,
            Criticality = m.TryGetValue(CriticalityKey, out var c) && Backpressure.ProxyCriticalityOf.TryParse(c, out var parsed)
                ? parsed : Backpressure.ProxyCriticality.Default,
        };
    }

    private static bool Flag(IReadOnlyDictionary<string, string> m, string key, bool fallback) =>
        m.TryGetValue(key, out var v) && bool.TryParse(v, out var b) ? b : fallback;

    private static double Number(IReadOnlyDictionary<string, string> m, string key, double fallback) =>
        m.TryGetValue(key, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 ? d : fallback;
}

using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// The <c>RateLimit-Policy</c> and <c>RateLimit</c> fields of draft-ietf-httpapi-ratelimit-headers (-10, the
/// text in the working group's repository): Structured Field lists whose item is the policy name, a String
/// (here the route id), with parameters <c>q</c> (quota) and <c>w</c> (window, seconds) for the policy and
/// <c>r</c> (remaining) and <c>t</c> (seconds until more quota) for the current state. The token bucket's size
/// goes in a vendor parameter, <c>cloudproxy-burst</c>, as the draft asks for implementation-specific ones.
/// </summary>
internal static class ProxyRateLimitHeaders
{
    public const string Policy = "RateLimit-Policy";
    public const string State = "RateLimit";

    /// <summary>Appends this proxy's policy and state to the response (after any the back end sends, YARP appends its own).</summary>
    public static void Write(IHeaderDictionary headers, string policyName, ProxyRateLimit limit, ProxyRateLimitDecision decision)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var name = SfString(policyName);
        headers.Append(Policy, PolicyValue(name, limit));
        headers.Append(State, string.Create(CultureInfo.InvariantCulture, $"{name};r={Math.Max(0, decision.Remaining)};t={Seconds(decision.Reset)}"));
    }

    /// <summary>Whole seconds, rounded up: a client that waits <c>t</c> finds the permit there.</summary>
    public static long Seconds(TimeSpan reset) => Math.Max(0, (long)Math.Ceiling(reset.TotalSeconds));

    public static string PolicyValue(string sfName, ProxyRateLimit limit)
    {
        ArgumentNullException.ThrowIfNull(sfName);
        var value = string.Create(CultureInfo.InvariantCulture, $"{sfName};q={Math.Max(1, limit.PerMinute)};w=60");
        return limit.Algorithm == RateLimitAlgorithm.TokenBucket && limit.Burst != limit.PerMinute
            ? value + string.Create(CultureInfo.InvariantCulture, $";cloudproxy-burst={Math.Max(1, limit.Burst)}")
            : value;
    }

    /// <summary>An sf-string (RFC 9651 §3.3.3): printable ASCII, with <c>"</c> and <c>\</c> escaped; anything else becomes <c>_</c>.</summary>
    public static string SfString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                text.Append('\\').Append(c);
            }
            else
            {
                text.Append(c is >= ' ' and <= '~' ? c : '_');
            }
        }

        return text.Append('"').ToString();
    }
}

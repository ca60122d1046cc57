using CloudProxy.ReverseProxy.Hosting;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// How much a request matters when the back end is congested, in the spirit of Google's criticality
/// classes: with the window full, <see cref="Sheddable"/> requests are refused at once, and a slot that
/// frees goes to a waiting <see cref="Critical"/> request before a <see cref="Default"/> one.
/// </summary>
internal enum ProxyCriticality
{
    Sheddable = 0,
    Default = 1,
    Critical = 2,
}

internal static class ProxyCriticalityOf
{
    public static readonly string[] Names = ["sheddable", "default", "critical"];

    public static string Name(ProxyCriticality criticality) => Names[(int)criticality];

    public static bool TryParse(string? text, out ProxyCriticality criticality)
    {
        for (var i = 0; i < Names.Length; i++)
        {
            if (string.Equals(text?.Trim(), Names[i], StringComparison.OrdinalIgnoreCase))
            {
                criticality = (ProxyCriticality)i;
                return true;
            }
        }

        criticality = ProxyCriticality.Default;
        return false;
    }

    /// <summary>
    /// The request's class: a background refresh of the proxy's own is sheddable; else the header
    /// (<c>Backpressure:CriticalityHeader</c>) when it names a class; else the route's
    /// (<c>CloudProxy.Backpressure.Criticality</c>). An unknown header value counts as the route's and is reported.
    /// </summary>
    public static ProxyCriticality For(HttpContext context, ProxyRouteSettings route, string? header, out bool unknownValue)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        unknownValue = false;
        if (ProxyBackgroundRequest.Is(context))
        {
            return ProxyCriticality.Sheddable;
        }

        if (!string.IsNullOrEmpty(header) && context.Request.Headers.TryGetValue(header, out var value) && value.Count > 0)
        {
            if (TryParse(value.ToString(), out var named))
            {
                return named;
            }

            unknownValue = true;
        }

        return route.Criticality;
    }
}

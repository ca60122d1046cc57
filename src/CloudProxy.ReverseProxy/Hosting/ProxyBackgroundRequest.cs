using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// Marks a request the proxy makes on its own (a cache refresh in the background), so steps meant for
/// clients (the rate limiter) leave it alone while the back-end steps (window, load balancing) still apply.
/// </summary>
public static class ProxyBackgroundRequest
{
    private static readonly object Key = new();

    public static void Mark(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[Key] = true;
    }

    public static bool Is(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.ContainsKey(Key);
    }
}

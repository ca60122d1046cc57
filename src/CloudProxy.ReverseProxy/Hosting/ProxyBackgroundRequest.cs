using Microsoft.AspNetCore.Http;

namespace CloudProxy.ReverseProxy.Hosting;

/// <summary>
/// Marks a request the proxy makes on its own (a cache refresh in the background), so steps meant for
/// clients (the rate limiter) leave it alone while the back-end steps (window, load balancing) still apply.
/// A feature rather than an Items entry: asking costs a client request no allocation.
/// </summary>
internal sealed class ProxyBackgroundRequest
{
    private static readonly ProxyBackgroundRequest Instance = new();

    private ProxyBackgroundRequest()
    {
    }

    public static void Mark(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Features.Set(Instance);
    }

    public static bool Is(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<ProxyBackgroundRequest>() is not null;
    }
}

using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// CORS for browser pages on another origin, through ASP.NET Core's CORS service and the named policy
/// <see cref="PolicyName"/>. The module applies it itself (in its handlers and on explicit OPTIONS routes) so
/// it works whatever middleware the host runs. statsd-http-proxy reflects any origin; so do we unless
/// AllowedOrigins lists some. Every answer carries <c>Vary: Origin</c>, since it depends on the Origin.
/// </summary>
internal sealed class StatsDCors(ICorsService cors, ICorsPolicyProvider policies)
{
    public const string PolicyName = "CloudProxy.StatsD";

    /// <summary>Request headers a page may send: statsd-http-proxy's list plus W3C trace context.</summary>
    public static readonly string[] AllowedHeaders =
        ["X-JWT-Token", "X-Requested-With", "Origin", "Accept", "Content-Type", "Authentication", "traceparent", "tracestate"];

    private CorsPolicy? _policy;

    public static void Configure(CorsOptions options, StatsDIngressOptions ingress)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ingress);
        options.AddPolicy(PolicyName, policy =>
        {
            if (ingress.AllowedOrigins.Count == 0 || ingress.AllowedOrigins.Contains("*"))
            {
                policy.SetIsOriginAllowed(static _ => true);
            }
            else
            {
                policy.WithOrigins([.. ingress.AllowedOrigins]);
            }

            policy.WithMethods("GET", "POST", "HEAD", "OPTIONS")
                .WithHeaders(AllowedHeaders)
                .WithExposedHeaders("Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        });
    }

    /// <summary>Adds the CORS answer headers; call before anything is written, errors included.</summary>
    public ValueTask ApplyAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Request.Headers.ContainsKey(HeaderNames.Origin))
        {
            // Same-origin or non-browser caller: only tell caches the answer depends on Origin.
            context.Response.Headers.Vary = HeaderNames.Origin;
            return ValueTask.CompletedTask;
        }

        return ApplyCorsAsync(context);
    }

    /// <summary>Answers an OPTIONS request: the preflight headers when the origin is allowed, and 204.</summary>
    public async Task PreflightAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await ApplyAsync(context);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async ValueTask ApplyCorsAsync(HttpContext context)
    {
        var policy = _policy ??= await policies.GetPolicyAsync(context, PolicyName)
            ?? throw new InvalidOperationException($"CORS policy {PolicyName} is not registered (AddStatsD registers it)");
        cors.ApplyResult(cors.EvaluatePolicy(context, policy), context.Response);
        AddVary(context.Response);
    }

    private static void AddVary(HttpResponse response)
    {
        var vary = response.Headers.Vary;
        foreach (var value in vary)
        {
            if (value is not null && value.Contains(HeaderNames.Origin, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
    }
}

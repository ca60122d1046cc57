using Microsoft.AspNetCore.Http;

namespace CloudProxy.StatsD.Ingress;

/// <summary>Marks which ingress endpoint a route is, for the counters the filters write.</summary>
public sealed record StatsDEndpointTag(StatsDIngressEndpoint Endpoint);

/// <summary>Adds the CORS headers before anything else answers, so even a 401 is readable by the page.</summary>
internal sealed class StatsDCorsFilter(StatsDCors cors) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        await cors.ApplyAsync(context.HttpContext);
        return await next(context);
    }
}

/// <summary>
/// statsd-http-proxy's JWT check: the token from the <c>X-JWT-Token</c> header, else the <c>token</c> query
/// parameter; 401 when missing, 403 when invalid or expired; nothing checked when no secret is set.
/// </summary>
internal sealed class StatsDJwtFilter(StatsDJwtValidator validator, StatsDReplies replies) : IEndpointFilter
{
    public const string HeaderName = "X-JWT-Token";
    public const string QueryName = "token";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (!validator.Enabled)
        {
            return await next(context);
        }

        var http = context.HttpContext;
        string? token = http.Request.Headers[HeaderName];
        if (string.IsNullOrEmpty(token))
        {
            token = http.Request.Query[QueryName];
        }

        var result = await validator.ValidateAsync(token);
        if (result.Status == StatsDJwtStatus.Valid)
        {
            return await next(context);
        }

        var endpoint = http.GetEndpoint()?.Metadata.GetMetadata<StatsDEndpointTag>()?.Endpoint ?? StatsDIngressEndpoint.Count;
        var refusal = result.Status == StatsDJwtStatus.Missing ? StatsDRefusal.TokenMissing : StatsDRefusal.TokenInvalid;
        await replies.RefuseAsync(http, endpoint, refusal, result.Reason ?? "Error parsing token");
        return Results.Empty;
    }
}

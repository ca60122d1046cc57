using System.Security.Cryptography;
using System.Text;
using CloudProxy.Core.Hosting;
using CloudProxy.Graphite.Ingress;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite.Keys;

/// <summary>
/// The gateway's admin API on its own listener (default 127.0.0.1:8842, never the shared one), behind a
/// bearer token: pgw-key's list/create/regen/delete, per-key quotas, plus the recent bad lines per key. Without a token
/// configured it does not start at all.
/// </summary>
internal sealed partial class GraphiteAdminServer(
    GraphiteKeyStore store, GraphiteKeyCache cache, GraphiteBadLineLog badLines, IOptions<GraphiteOptions> options, ILoggerFactory loggers)
    : SideListener
{
    private readonly GraphiteGatewayOptions _options = options.Value.Gateway;
    private readonly ILogger _logger = loggers.CreateLogger<GraphiteAdminServer>();

    protected override string ListenSetting => GraphiteOptions.Section + ":Gateway:AdminAddress";

    protected override string ListenAddress => _options.AdminAddress;

    protected override WebApplication? Build()
    {
        if (string.IsNullOrEmpty(_options.AdminAddress))
        {
            return null;
        }

        if (string.IsNullOrEmpty(_options.AdminToken))
        {
            Log.Disabled(_logger);
            return null;
        }

        var builder = WebApplication.CreateSlimBuilder();
        ShareHostLogging(builder, loggers);
        var endPoint = GraphiteOptionsValidator.ParseEndPoint(_options.AdminAddress)!;
        builder.WebHost.ConfigureKestrel(k => k.Listen(endPoint));
        var app = builder.Build();
        Map(app);
        return app;
    }

    protected override void OnStarted(Uri address) => Log.Listening(_logger, address);

    private void Map(WebApplication app)
    {
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(_options.AdminToken));
        app.Use(async (context, next) =>
        {
            string? header = context.Request.Headers.Authorization;
            var presented = header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : string.Empty;
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsync("admin token missing or wrong (Authorization: Bearer <CloudProxy:Graphite:Gateway:AdminToken>)\n");
                return;
            }

            await next(context);
        });

        app.MapGet("/keys", async (HttpContext context) =>
        {
            var all = string.Equals(context.Request.Query["show"], "all", StringComparison.Ordinal);
            var document = await store.LoadAsync(context.RequestAborted);
            return Results.Json(document.Keys.Select(k => new
            {
                name = k.Name, key = all ? k.Key : null, prefix = k.Prefix, created = k.Created, pointsPerSecond = k.Quota?.PointsPerSecond, burst = k.Quota?.Burst,
            }));
        });
        app.MapPost("/keys/{name}", async (string name, HttpContext context) =>
        {
            bool? prefix = bool.TryParse(context.Request.Query["prefix"], out var p) ? p : null;
            return await ChangedAsync(await store.CreateAsync(name, prefix, context.RequestAborted), StatusCodes.Status201Created, context);
        });
        app.MapPost("/keys/{name}/regenerate", async (string name, HttpContext context) =>
            await ChangedAsync(await store.RegenerateAsync(name, context.RequestAborted), StatusCodes.Status200OK, context));
        app.MapPost("/keys/{name}/quota", async (string name, HttpContext context) =>
        {
            var query = context.Request.Query;
            if (!TryNumber(query["pointsPerSecond"], out var rate) || rate is null || !TryNumber(query["burst"], out var burst))
            {
                return Results.Text("a quota is ?pointsPerSecond=N[&burst=M] (numbers; burst defaults to one second's worth)\n", "text/plain", Encoding.UTF8, StatusCodes.Status400BadRequest);
            }

            return await ChangedAsync(await store.SetQuotaAsync(name, rate, burst, context.RequestAborted), StatusCodes.Status200OK, context);
        });
        app.MapDelete("/keys/{name}/quota", async (string name, HttpContext context) =>
            await ChangedAsync(await store.SetQuotaAsync(name, null, null, context.RequestAborted), StatusCodes.Status200OK, context));
        app.MapDelete("/keys/{name}", async (string name, HttpContext context) =>
            await ChangedAsync(await store.DeleteAsync(name, context.RequestAborted), StatusCodes.Status200OK, context));
        app.MapGet("/bad-lines", () => Results.Json(badLines.Snapshot()));
        app.MapGet("/bad-lines/{name}", (string name) => Results.Json(badLines.Recent(name)));
    }

    private async Task<IResult> ChangedAsync(GraphiteKeyChange change, int status, HttpContext context)
    {
        if (change.Error is { } error)
        {
            var code = change.NotFound ? StatusCodes.Status404NotFound : change.Conflict ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest;
            return Results.Text(error + "\n", "text/plain", Encoding.UTF8, code);
        }

        // The gateway accepts (or stops accepting) the key now, not at the next refresh.
        await cache.RefreshAsync(context.RequestAborted);
        var key = change.Key!;
        return Results.Json(
            new { name = key.Name, key = key.Key, prefix = key.Prefix, created = key.Created, pointsPerSecond = key.Quota?.PointsPerSecond, burst = key.Quota?.Burst },
            statusCode: status);
    }

    /// <summary>An absent value is null (true); a present one must be an invariant number.</summary>
    private static bool TryNumber(string? text, out double? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.AdminListening, Level = LogLevel.Information, Message = "Graphite admin API on {Address}")]
        public static partial void Listening(ILogger logger, Uri address);

        [LoggerMessage(EventId = GraphiteEventIds.AdminDisabled, Level = LogLevel.Information, Message = "Graphite admin API off: no CloudProxy:Graphite:Gateway:AdminToken set")]
        public static partial void Disabled(ILogger logger);
    }
}

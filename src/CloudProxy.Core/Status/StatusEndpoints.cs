using CloudProxy.Core.Hosting;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Status;

/// <summary><c>/_status</c>, <c>/healthz</c> (alive) and <c>/readyz</c> (started, not stopping, able to accept).</summary>
public static class StatusEndpoints
{
    public static IEndpointRouteBuilder MapStatusEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (IHostApplicationLifetime lifetime, OutboxPump pump, ISpool spool, IOptions<SpoolOptions> spoolOptions) =>
        {
            if (!lifetime.ApplicationStarted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return Results.Text("not ready: starting or stopping", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            // A full spool while the publisher is failing means new data is refused: take us out of rotation.
            var spoolFull = spoolOptions.Value.Enabled && spool.Bytes >= spoolOptions.Value.MaxBytes;
            return !pump.Healthy && spoolFull
                ? Results.Text("not ready: publisher failing and spool full", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ready");
        });
        app.MapGet("/_status", (StatusReport report) => Results.Json(report.Build()));
        return app;
    }
}

/// <summary>The JSON body of <c>/_status</c>.</summary>
public sealed class StatusReport(
    BuildInfo build,
    ServiceRoles roles,
    IOptions<TransportOptions> transport,
    Outbox.Outbox outbox,
    OutboxPump pump,
    ISpool spool,
    IEnumerable<IQueueDepth> queues,
    TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public object Build()
    {
        var depths = new SortedDictionary<string, long>(StringComparer.Ordinal)
        {
            ["outbox"] = outbox.Count,
            ["spool"] = spool.Count,
        };
        foreach (var queue in queues)
        {
            depths[queue.Name] = queue.Depth;
        }

        return new
        {
            status = pump.Healthy ? "ok" : "degraded",
            version = build.Version,
            commit = build.Commit,
            build_time = build.BuildTime,
            uptime_seconds = Math.Round((time.GetUtcNow() - _started).TotalSeconds, 1),
            services = roles.Names.Order(StringComparer.Ordinal).ToArray(),
            transport = transport.Value.Kind.ToString().ToLowerInvariant(),
            publisher_healthy = pump.Healthy,
            queues = depths,
            outbox_bytes = outbox.Bytes,
            spool_bytes = spool.Bytes,
            // ogre's /_status fields (sentry, issue 3): its dashboards read author, commit, datetime, status.
            author = "cloudproxy",
            datetime = build.BuildTime,
        };
    }
}

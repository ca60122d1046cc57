using CloudProxy.Core.Delivery;
using CloudProxy.Core.Hosting;
using CloudProxy.Core.Options;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Storage;
using CloudProxy.Core.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

[assembly: SettingSection(CloudProxy.Core.Status.HealthOptions.Section, typeof(CloudProxy.Core.Status.HealthOptions))]

namespace CloudProxy.Core.Status;

/// <summary>
/// <c>/healthz</c> (the process is alive: liveness), <c>/readyz</c> (it can take traffic: readiness) and
/// <c>/_status</c> (everything an operator asks first, with <c>"status":"degraded"</c> and the reasons).
/// </summary>
public static class StatusEndpoints
{
    public static IEndpointRouteBuilder MapStatusEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (HealthState health) =>
        {
            var reasons = health.NotReadyReasons();
            return reasons.Count == 0
                ? Results.Json(new { status = "ready" })
                : Results.Json(new { status = "not ready", reasons }, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/_status", (StatusReport report) => Results.Json(report.Build()));
        return app;
    }
}

/// <summary>Section <c>CloudProxy:Health</c>: when <c>/readyz</c> takes the process out of rotation.</summary>
internal sealed class HealthOptions
{
    public const string Section = "CloudProxy:Health";

    [Setting("Not ready for this long after the last refused envelope (the spool is full or the disk failed).")]
    public double RefusalWindowSeconds { get; set; } = 5;

    [Setting("Not ready once the transport (the Dapr sidecar or broker) has failed for this long; 0 never.")]
    public double PublishFailureGraceSeconds { get; set; } = 30;

    [Setting("Not ready while the process's resident memory is above this share of the memory it may use (as Sentry Relay does at 95 %).")]
    public double MaxMemoryShare { get; set; } = 0.95;
}

/// <summary>What <c>/readyz</c> and <c>/_status</c> judge health by.</summary>
internal sealed class HealthState(
    IHostApplicationLifetime lifetime,
    DurableOutbox outbox,
    OutboxPump pump,
    LogStore store,
    IOptions<SpoolOptions> spool,
    IOptions<HealthOptions> options,
    TimeProvider time)
{
    private readonly HealthOptions _options = options.Value;
    private readonly long _ingressBound = spool.Value.MaxBytes - (long)(spool.Value.MaxBytes * spool.Value.ReserveShare);

    /// <summary>Why this process should not get traffic now; empty when it should.</summary>
    public List<string> NotReadyReasons()
    {
        var reasons = new List<string>();
        if (!lifetime.ApplicationStarted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            reasons.Add("starting or stopping");
        }

        reasons.AddRange(Problems(forReadiness: true));
        return reasons;
    }

    /// <summary>Problems worth an operator's attention; with <paramref name="forReadiness"/> only those that make the process unready.</summary>
    public IEnumerable<string> Problems(bool forReadiness)
    {
        var now = time.GetUtcNow();
        var refused = outbox.LastRefusalTicks;
        if (refused > 0 && (now - new DateTimeOffset(refused, TimeSpan.Zero)).TotalSeconds < _options.RefusalWindowSeconds)
        {
            yield return "refusing new data: the spool is full or the disk failed (cloudproxy_core_envelopes_refused_total)";
        }
        // Full: the next envelope of ordinary size would not fit (within 1 %, at most 1 MiB, of the bound).
        else if (store.Disk.Used >= _ingressBound - Math.Min(_ingressBound / 100, 1 << 20))
        {
            yield return $"the spool is full ({store.Disk.Used} of {_ingressBound} bytes for new data; --spool-max-bytes)";
        }

        if (pump.TransportFailingSinceTicks is { } since)
        {
            var seconds = (now - new DateTimeOffset(since, TimeSpan.Zero)).TotalSeconds;
            if (!forReadiness || (_options.PublishFailureGraceSeconds > 0 && seconds >= _options.PublishFailureGraceSeconds))
            {
                yield return $"publishing has failed for {Math.Round(seconds)} s (the transport cannot be reached)";
            }
        }

        var limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var resident = Environment.WorkingSet;
        if (limit > 0 && resident > _options.MaxMemoryShare * limit)
        {
            yield return $"memory at {resident} of {limit} bytes (over {_options.MaxMemoryShare:P0}; CloudProxy:Health:MaxMemoryShare)";
        }

        if (!forReadiness && pump.FailingSinceTicks is not null && pump.TransportFailingSinceTicks is null)
        {
            yield return "forwarding is held: a forwarder's upstream is down; accepted data waits on disk";
        }
    }
}

/// <summary>The JSON body of <c>/_status</c>.</summary>
internal sealed class StatusReport(
    BuildInfo build,
    ServiceRoles roles,
    IOptions<TransportOptions> transport,
    DurableOutbox outbox,
    OutboxPump pump,
    Deferrals deferrals,
    Quarantine quarantine,
    LogStore store,
    HealthState health,
    IEnumerable<IQueueDepth> queues,
    TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public object Build()
    {
        var depths = new SortedDictionary<string, long>(StringComparer.Ordinal)
        {
            ["outbox"] = outbox.Count,
            ["deferred"] = deferrals.Count,
            ["spool"] = outbox.Count + deferrals.Count,
            ["quarantine"] = quarantine.Count,
        };
        foreach (var queue in queues)
        {
            depths[queue.Name] = queue.Depth;
        }

        var problems = health.Problems(forReadiness: false).ToArray();
        return new
        {
            status = problems.Length == 0 ? "ok" : "degraded",
            reasons = problems,
            version = build.Version,
            commit = build.Commit,
            build_time = build.BuildTime,
            uptime_seconds = Math.Round((time.GetUtcNow() - _started).TotalSeconds, 1),
            services = roles.Names.Order(StringComparer.Ordinal).ToArray(),
            transport = transport.Value.Kind.ToString().ToLowerInvariant(),
            publisher_healthy = pump.Healthy,
            queues = depths,
            outbox_bytes = store.Memory.Used,
            spool_bytes = store.Disk.Used,
            spool_max_bytes = store.Disk.MaxBytes,
            quarantine = new
            {
                count = quarantine.Count,
                bytes = quarantine.Bytes,
                recent = quarantine.Recent.Select(e => new { at = e.At, topic = e.Topic, kind = e.Kind, key = e.Key, reason = e.Reason, bytes = e.Bytes }),
            },

            // ogre's /_status fields (sentry, issue 3): its dashboards read author, commit, datetime, status.
            author = "cloudproxy",
            datetime = build.BuildTime,
        };
    }
}

using CloudProxy.Core.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry.Protocol;

/// <summary>
/// With <c>--transport dapr</c> ingress and forwarder run in different processes, so the rate limits the
/// forwarder learns travel through the state store under one key, <see cref="StateKey"/>: the forwarder
/// writes the live limits whenever they change (with a time to live of the longest one), each ingress reads
/// them every <c>RateLimitPollSeconds</c> and replaces its table. A lost write or read only delays the
/// mirroring by a poll; the forwarder itself still obeys every limit it learned.
/// </summary>
internal sealed partial class SentryRateLimitSync(
    IServiceProvider services,
    SentryRateLimitTable table,
    IOptions<SentryOptions> options,
    TimeProvider time,
    ILogger<SentryRateLimitSync> logger,
    bool publish) : BackgroundService
{
    public const string StateKey = "cloudproxy-sentry-rate-limits";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var store = services.GetService<IStateStore>();
        if (store is null)
        {
            return;
        }

        var period = TimeSpan.FromSeconds(publish ? 0.5 : options.Value.Ingress.RateLimitPollSeconds);
        long published = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var now = time.GetUtcNow();
                if (publish)
                {
                    var version = table.Version;
                    if (version != published)
                    {
                        var live = table.Snapshot(now);
                        var ttl = live.Count == 0 ? TimeSpan.FromSeconds(1) : live.Max(l => l.ExpiresAt - now) + TimeSpan.FromSeconds(1);
                        await store.SetAsync(StateKey, SentryRateLimitTable.Serialize(live), ttl, stoppingToken);
                        published = version;
                    }
                }
                else
                {
                    var bytes = await store.GetAsync(StateKey, stoppingToken);
                    table.ReplaceAll(bytes is null ? [] : SentryRateLimitTable.Deserialize(bytes));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.SyncFailed(logger, publish ? "publish" : "read", ex.Message);
            }

            try
            {
                await Task.Delay(period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = SentryEventIds.RateLimitSyncFailed, Level = LogLevel.Warning, Message = "Could not {Action} the Sentry rate limits through the state store: {Detail}")]
        public static partial void SyncFailed(ILogger logger, string action, string detail);
    }
}

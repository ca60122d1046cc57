using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Keys;

/// <summary>
/// The gateway's view of the API keys: loaded from <see cref="GraphiteKeyStore"/> at start and every
/// KeyRefreshSeconds. When the store cannot be read the last good set keeps serving (and a counter says so).
/// Lookups hash the presented key, find the candidate by hash and compare the secret in constant time.
/// </summary>
internal sealed partial class GraphiteKeyCache : BackgroundService
{
    private readonly GraphiteKeyStore _store;
    private readonly GraphiteGatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GraphiteKeyCache> _logger;
    private readonly Gauge _loaded;
    private readonly Counter _failures;
    private volatile Dictionary<string, GraphiteApiKey> _byHash = new(StringComparer.Ordinal);

    public GraphiteKeyCache(GraphiteKeyStore store, IOptions<GraphiteOptions> options, IMetricFactory metrics, TimeProvider time, ILogger<GraphiteKeyCache> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        _store = store;
        _options = options.Value.Gateway;
        _time = time;
        _logger = logger;
        _loaded = metrics.CreateGauge(GraphiteMetricNames.KeysLoaded, "API keys the gateway accepts (from the last good load).");
        _failures = metrics.CreateCounter(GraphiteMetricNames.KeyRefreshFailures, "Key reloads that failed; the previous keys kept serving.");
        if (_options.DevMode)
        {
            Log.DevMode(logger);
        }

        Install([]);
    }

    /// <summary>The key a request presented, or null. Constant time in the secret.</summary>
    public GraphiteApiKey? Validate(string? presented)
    {
        // A key is compared as presented: surrounding whitespace (which HTTP servers may or may not strip) is
        // not ignored, so " key " never matches "key".
        if (string.IsNullOrEmpty(presented) || presented.Length > 256 || char.IsWhiteSpace(presented[0]) || char.IsWhiteSpace(presented[^1]))
        {
            return null;
        }

        if (!_byHash.TryGetValue(Hash(presented), out var key))
        {
            return null;
        }

        var a = Encoding.UTF8.GetBytes(presented);
        var b = Encoding.UTF8.GetBytes(key.Key);
        return CryptographicOperations.FixedTimeEquals(a, b) ? key : null;
    }

    /// <summary>Reloads now; false (and the old keys kept) when the store fails.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var document = await _store.LoadAsync(cancellationToken);
            Install(document.Keys);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _failures.Inc();
            Log.RefreshFailed(_logger, ex.Message);
            return false;
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first load happens before the gateway takes traffic, so a restart does not refuse good keys.
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.KeyRefreshSeconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Install(IEnumerable<GraphiteApiKey> keys)
    {
        var map = new Dictionary<string, GraphiteApiKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            map[Hash(key.Key)] = key;
        }

        if (_options.DevMode)
        {
            map[Hash("123")] = new GraphiteApiKey { Name = "dev", Key = "123" };
        }

        _byHash = map;
        _loaded.Set(map.Count);
    }

    private static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.KeyRefreshFailed, Level = LogLevel.Warning, Message = "Reloading the Graphite API keys failed; the previous keys keep serving: {Error}")]
        public static partial void RefreshFailed(ILogger logger, string error);

        [LoggerMessage(EventId = GraphiteEventIds.DevMode, Level = LogLevel.Warning, Message = "Graphite gateway in dev mode: the API key '123' (named dev) is accepted")]
        public static partial void DevMode(ILogger logger);
    }
}

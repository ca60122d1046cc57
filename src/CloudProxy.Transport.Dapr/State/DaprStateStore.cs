using System.Globalization;
using CloudProxy.Core.State;
using global::Dapr.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.Transport.Dapr.State;

/// <summary>
/// <see cref="IStateStore"/> over the Dapr state API. Values are stored as raw bytes (no JSON); a time to
/// live becomes the <c>ttlInSeconds</c> metadata every TTL-capable Dapr state store honours.
/// </summary>
internal sealed partial class DaprStateStore : IStateStore
{
    internal const string TtlMetadataKey = "ttlInSeconds";

    private readonly DaprClient _client;
    private readonly string _storeName;
    private readonly DaprMetrics _metrics;
    private readonly ILogger _logger;

    public DaprStateStore(DaprClient client, IOptions<DaprTransportOptions> options, DaprMetrics metrics, ILogger<DaprStateStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _storeName = options.Value.StateStoreName;
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var (data, etag) = await RunAsync("get", key, () =>
            _client.GetByteStateAndETagAsync(_storeName, key, consistencyMode: null, metadata: null, cancellationToken));

        // Dapr answers a missing key with empty data and no etag; an empty value that exists has an etag.
        return data.IsEmpty && string.IsNullOrEmpty(etag) ? null : data.ToArray();
    }

    public Task SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Dictionary<string, string>? metadata = null;
        if (timeToLive is { } ttl)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, nameof(timeToLive));

            // Whole seconds only; round up so an entry never expires before it was asked to.
            var seconds = (long)Math.Ceiling(ttl.TotalSeconds);
            metadata = new Dictionary<string, string>(1) { [TtlMetadataKey] = seconds.ToString(CultureInfo.InvariantCulture) };
        }

        return RunAsync("set", key, async () =>
        {
            await _client.SaveByteStateAsync(_storeName, key, value, stateOptions: null, metadata, cancellationToken);
            return true;
        });
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return RunAsync("delete", key, async () =>
        {
            await _client.DeleteStateAsync(_storeName, key, stateOptions: null, metadata: null, cancellationToken);
            return true;
        });
    }

    private async Task<T> RunAsync<T>(string operation, string key, Func<Task<T>> call)
    {
        try
        {
            var result = await call();
            _metrics.StateOperations.WithLabels(operation, "ok").Inc();
            return result;
        }
        catch (global::Dapr.DaprException ex)
        {
            _metrics.StateOperations.WithLabels(operation, "error").Inc();
            Log.StateOperationFailed(_logger, ex, operation, key, _storeName);
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(DaprLogEvents.StateOperationFailed, LogLevel.Warning,
            "Dapr state {Operation} of key {Key} in store {Store} failed")]
        public static partial void StateOperationFailed(ILogger logger, Exception exception, string operation, string key, string store);
    }
}

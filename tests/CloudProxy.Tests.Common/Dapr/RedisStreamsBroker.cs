using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using StackExchange.Redis;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>One stream entry as the component hands it to daprd (components-contrib pubsub.NewMessage).</summary>
public sealed record BrokerMessage(string Topic, string Id, byte[] Data, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>
/// components-contrib's <c>pubsub.redis</c> (pubsub/redis/redis.go@c23900d2) over a real redis-server, command for
/// command: Publish is XADD of the fields <c>data</c> (and <c>metadata</c> as JSON when the request has any) with
/// MAXLEN ~ or MINID ~ (lines 105-126; common/component/redis/v9client.go:165-181); Subscribe creates the consumer
/// group at 0 with MKSTREAM, BUSYGROUP ignored (128-136), polls XREADGROUP &gt; COUNT queueDepth into ONE queue of
/// queueDepth per component (92, 276-303) that <c>concurrency</c> workers drain (94-100, 225-236), and every
/// redeliverInterval XPENDINGs queueDepth entries and XCLAIMs those idle for processingTimeout (307-395).
/// processMessage (242-272) gives the handler processingTimeout and then XACKs — on success, and also when the
/// handler returned an error, unless that time ran out or the subscription stopped: an error is not a redelivery.
/// </summary>
public sealed class RedisStreamsBroker : IAsyncDisposable
{
    private readonly RedisServer _redis;
    private readonly RedisStreamsSettings _settings;
    private readonly Channel<Work> _queue;
    private readonly CancellationTokenSource _closed = new();
    private readonly List<Task> _loops = [];
    private readonly List<ConnectionMultiplexer> _connections = [];
    private readonly ConnectionMultiplexer _client;
    private int _ackedAfterError;

    private RedisStreamsBroker(RedisServer redis, RedisStreamsSettings settings, string appId, ConnectionMultiplexer client)
    {
        _redis = redis;
        _settings = settings;
        _client = client;
        ConsumerId = settings.ConsumerId.Replace("{appID}", appId, StringComparison.Ordinal);
        _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(Math.Max(1, settings.QueueDepth)) { FullMode = BoundedChannelFullMode.Wait });
        for (var i = 0; i < settings.Concurrency; i++)
        {
            _loops.Add(Task.Run(WorkerAsync, CancellationToken.None));
        }
    }

    public string ConsumerId { get; }

    /// <summary>Handlers that returned an error and whose message was XACKed anyway (redis.go:250-261).</summary>
    public int AckedAfterError => Volatile.Read(ref _ackedAfterError);

    internal static async Task<RedisStreamsBroker> StartAsync(RedisServer redis, RedisStreamsSettings settings, string appId) =>
        new(redis, settings, appId, await ConnectAsync(redis, TimeSpan.FromSeconds(5)));

    /// <summary>Component Publish: XADD, or a retriable error when Redis refuses or cannot be reached.</summary>
    internal async Task<Exception?> PublishAsync(string topic, byte[] data, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        if (_closed.IsCancellationRequested)
        {
            return new InvalidOperationException("component is closed");
        }

        var args = new List<object> { topic };
        if (_settings.MaxLenApprox > 0)
        {
            args.AddRange(["MAXLEN", "~", _settings.MaxLenApprox]);
        }
        else if (_settings.StreamTtl > TimeSpan.Zero)
        {
            var minId = TimeProvider.System.GetUtcNow().Add(-_settings.StreamTtl).ToUnixTimeMilliseconds();
            args.AddRange(["MINID", "~", string.Create(CultureInfo.InvariantCulture, $"{minId}-1")]);
        }

        args.AddRange(["*", "data", data]);
        if (metadata is not null)
        {
            args.AddRange(["metadata", JsonSerializer.Serialize(metadata)]);
        }

        try
        {
            await _client.GetDatabase().ExecuteAsync("XADD", [.. args]).WaitAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new InvalidOperationException($"redis streams: error from publish: {ex.Message}", ex);
        }
    }

    /// <summary>Component Subscribe: the consumer group, then the poll and reclaim loops of this topic.</summary>
    internal async Task SubscribeAsync(string topic, Func<BrokerMessage, CancellationToken, Task<Exception?>> handler, CancellationToken stopping)
    {
        await CreateGroupAsync(_client.GetDatabase(), topic);
        var reader = await ConnectAsync(_redis, _settings.ReadBlock + TimeSpan.FromSeconds(5));
        lock (_connections)
        {
            _connections.Add(reader);
        }

        var loop = CancellationTokenSource.CreateLinkedTokenSource(stopping, _closed.Token).Token;
        _loops.Add(Task.Run(() => PollAsync(reader.GetDatabase(), topic, handler, loop), CancellationToken.None));
        if (_settings.ProcessingTimeout > TimeSpan.Zero && _settings.RedeliverInterval > TimeSpan.Zero)
        {
            _loops.Add(Task.Run(() => ReclaimLoopAsync(topic, handler, loop), CancellationToken.None));
        }
    }

    /// <summary>The stream's entries (XRANGE - +), oldest first.</summary>
    public async Task<IReadOnlyList<BrokerMessage>> EntriesAsync(string topic)
    {
        var result = await _client.GetDatabase().ExecuteAsync("XRANGE", topic, "-", "+");
        return result.IsNull ? [] : [.. ((RedisResult[])result!).Select(e => ToMessage(topic, e))];
    }

    /// <summary>Entries delivered to this consumer group and not acknowledged (XPENDING summary count).</summary>
    public async Task<long> PendingAsync(string topic)
    {
        try
        {
            var summary = (RedisResult[])(await _client.GetDatabase().ExecuteAsync("XPENDING", topic, ConsumerId))!;
            return (long)summary[0];
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closed.CancelAsync();
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            // Loops end on cancellation; a stuck one is not worth failing a test over.
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await _client.DisposeAsync();
        _closed.Dispose();
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(RedisServer redis, TimeSpan timeout)
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{redis.Port}");
        options.AbortOnConnectFail = false;

        // go-redis fails a command on a dead connection at once; StackExchange.Redis would queue it.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AsyncTimeout = (int)timeout.TotalMilliseconds;
        options.SyncTimeout = (int)timeout.TotalMilliseconds;
        options.ConnectTimeout = 2000;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    private async Task CreateGroupAsync(IDatabase db, string topic)
    {
        try
        {
            await db.ExecuteAsync("XGROUP", "CREATE", topic, ConsumerId, "0", "MKSTREAM");
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    private async Task PollAsync(IDatabase db, string topic, Func<BrokerMessage, CancellationToken, Task<Exception?>> handler, CancellationToken loop)
    {
        while (!loop.IsCancellationRequested)
        {
            RedisResult result;
            try
            {
                result = await db.ExecuteAsync(
                    "XREADGROUP", "GROUP", ConsumerId, ConsumerId, "COUNT", _settings.QueueDepth,
                    "BLOCK", (long)_settings.ReadBlock.TotalMilliseconds, "STREAMS", topic, ">");
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // redis.go:288-292: the group is gone (data loss on the server); make it again.
                await TryAsync(() => CreateGroupAsync(_client.GetDatabase(), topic));
                continue;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // redis.go:293-295 logs and polls again at once; a short pause keeps a down Redis from spinning a core.
                await DelayAsync(TimeSpan.FromMilliseconds(50), loop);
                continue;
            }

            if (result.IsNull)
            {
                continue;
            }

            foreach (var stream in (RedisResult[])result!)
            {
                var pair = (RedisResult[])stream!;
                foreach (var entry in (RedisResult[])pair[1]!)
                {
                    if (!await EnqueueAsync(new Work(ToMessage(topic, entry), handler, loop), loop))
                    {
                        return;
                    }
                }
            }
        }
    }

    private async Task ReclaimLoopAsync(string topic, Func<BrokerMessage, CancellationToken, Task<Exception?>> handler, CancellationToken loop)
    {
        await ReclaimAsync(topic, handler, loop);
        using var ticker = new PeriodicTimer(_settings.RedeliverInterval);
        try
        {
            while (await ticker.WaitForNextTickAsync(loop))
            {
                await ReclaimAsync(topic, handler, loop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReclaimAsync(string topic, Func<BrokerMessage, CancellationToken, Task<Exception?>> handler, CancellationToken loop)
    {
        var db = _client.GetDatabase();
        var minIdle = (long)_settings.ProcessingTimeout.TotalMilliseconds;
        while (!loop.IsCancellationRequested)
        {
            List<string> timedOut;
            try
            {
                var pending = await db.ExecuteAsync("XPENDING", topic, ConsumerId, "-", "+", _settings.QueueDepth);
                timedOut = [.. ((RedisResult[])pending!).Select(p => (RedisResult[])p!).Where(p => (long)p[2] >= minIdle).Select(p => (string)p[0]!)];
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return;
            }

            if (timedOut.Count == 0)
            {
                return;
            }

            RedisResult[] claimed;
            try
            {
                claimed = (RedisResult[])(await db.ExecuteAsync("XCLAIM", [topic, ConsumerId, ConsumerId, minIdle, .. timedOut]))!;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return;
            }

            // Redis >= 7 removes deleted (trimmed) entries from the pending list itself and leaves them out of the
            // answer; Redis 6 answered nil for them, which redis.go:381-393 acknowledges one by one. Either way a
            // trimmed entry is gone without ever reaching the app.
            foreach (var entry in claimed.Where(c => !c.IsNull))
            {
                if (!await EnqueueAsync(new Work(ToMessage(topic, entry), handler, loop), loop))
                {
                    return;
                }
            }
        }
    }

    private async Task<bool> EnqueueAsync(Work work, CancellationToken loop)
    {
        try
        {
            await _queue.Writer.WriteAsync(work, loop);
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            return false;
        }
    }

    private async Task WorkerAsync()
    {
        try
        {
            await foreach (var work in _queue.Reader.ReadAllAsync(_closed.Token))
            {
                await ProcessAsync(work);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ProcessAsync(Work work)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(work.Loop);
        if (_settings.ProcessingTimeout > TimeSpan.Zero && _settings.RedeliverInterval > TimeSpan.Zero)
        {
            timeout.CancelAfter(_settings.ProcessingTimeout);
        }

        Exception? error;
        try
        {
            error = await work.Handler(work.Message, timeout.Token);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        if (error is not null)
        {
            if (timeout.IsCancellationRequested)
            {
                // Out of time, or shutting down: no XACK, so the reclaim loop hands it out again.
                return;
            }

            Interlocked.Increment(ref _ackedAfterError);
        }

        await TryAsync(() => _client.GetDatabase().ExecuteAsync("XACK", work.Message.Topic, ConsumerId, work.Message.Id));
    }

    private static BrokerMessage ToMessage(string topic, RedisResult entry)
    {
        var parts = (RedisResult[])entry!;
        var id = (string)parts[0]!;
        byte[] data = [];
        Dictionary<string, string>? metadata = null;
        var fields = (RedisResult[])parts[1]!;
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            switch ((string?)fields[i])
            {
                case "data":
                    data = (byte[]?)fields[i + 1] ?? [];
                    break;
                case "metadata":
                    try
                    {
                        metadata = JsonSerializer.Deserialize<Dictionary<string, string>>((string)fields[i + 1]!);
                    }
                    catch (JsonException)
                    {
                        // redis.go:203-208 logs a warning and goes on without metadata.
                    }

                    break;
            }
        }

        return new BrokerMessage(topic, id, data, metadata);
    }

    private static async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The component logs these and carries on.
        }
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed record Work(BrokerMessage Message, Func<BrokerMessage, CancellationToken, Task<Exception?>> Handler, CancellationToken Loop);
}

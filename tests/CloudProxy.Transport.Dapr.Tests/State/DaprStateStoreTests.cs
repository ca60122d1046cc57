using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr.State;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using StackExchange.Redis;

namespace CloudProxy.Transport.Dapr.Tests.State;

/// <summary>DaprClient → sidecar double → a real Redis, and back.</summary>
[Collection(RedisGroup.Name)]
public sealed class DaprStateStoreTests(RedisFixture fixture) : IAsyncLifetime
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly string _key = "key-" + Guid.NewGuid().ToString("N");
    private DaprSidecarDouble _sidecar = null!;
    private DaprClient _client = null!;

    private IDatabase Redis => fixture.Redis.Database;

    public async Task InitializeAsync()
    {
        _sidecar = await DaprSidecarDouble.StartAsync(fixture.Redis, "cloudproxy-test", "statestore", "cache");
        _client = _sidecar.CreateDaprClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _sidecar.DisposeAsync();
    }

    [Fact]
    public async Task Set_then_get_round_trips_every_byte_value_and_the_value_really_is_in_redis()
    {
        var store = Store();

        await store.SetAsync(_key, TestEnvelopes.AllByteValues(), timeToLive: null, CancellationToken.None);

        Assert.Equal(TestEnvelopes.AllByteValues(), (byte[])(await Redis.HashGetAsync(_sidecar.RedisKey(_key), "data"))!);
        Assert.Null(await Redis.KeyTimeToLiveAsync(_sidecar.RedisKey(_key)));
        Assert.Equal(TestEnvelopes.AllByteValues(), await store.GetAsync(_key, CancellationToken.None));
        Assert.Equal(1, await Operations("set", "ok"));
        Assert.Equal(1, await Operations("get", "ok"));
    }

    [Fact]
    public async Task Missing_key_reads_as_null()
    {
        Assert.Null(await Store().GetAsync(_key, CancellationToken.None));
    }

    [Fact]
    public async Task Empty_value_reads_back_as_empty_not_as_missing()
    {
        var store = Store();

        await store.SetAsync(_key, ReadOnlyMemory<byte>.Empty, timeToLive: null, CancellationToken.None);

        Assert.True(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));
        var value = await store.GetAsync(_key, CancellationToken.None);
        Assert.NotNull(value);
        Assert.Empty(value);
    }

    [Fact]
    public async Task Delete_removes_the_key_from_redis()
    {
        var store = Store();
        await store.SetAsync(_key, new byte[] { 1, 2, 3 }, timeToLive: null, CancellationToken.None);
        Assert.True(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));

        await store.DeleteAsync(_key, CancellationToken.None);

        Assert.False(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));
        Assert.Null(await store.GetAsync(_key, CancellationToken.None));
    }

    [Fact]
    public async Task Time_to_live_becomes_ttlInSeconds_rounded_up_and_redis_expires_the_key()
    {
        var store = Store();

        await store.SetAsync(_key, new byte[] { 42 }, TimeSpan.FromMilliseconds(1200), CancellationToken.None);

        var ttl = await Redis.KeyTimeToLiveAsync(_sidecar.RedisKey(_key));
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
        Assert.Equal([42], await store.GetAsync(_key, CancellationToken.None));

        // Redis expires it by itself; poll with a bounded deadline.
        var deadline = TimeProvider.System.GetTimestamp();
        while (await store.GetAsync(_key, CancellationToken.None) is not null)
        {
            Assert.True(TimeProvider.System.GetElapsedTime(deadline) < TimeSpan.FromSeconds(10), "key did not expire within 10 s");
            await Task.Delay(100);
        }

        Assert.False(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));
    }

    [Fact]
    public async Task Non_positive_time_to_live_is_refused_before_reaching_the_sidecar()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => Store().SetAsync(_key, new byte[] { 1 }, TimeSpan.Zero, CancellationToken.None));

        Assert.False(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));
    }

    [Fact]
    public async Task State_store_name_comes_from_options()
    {
        await Store("cache").SetAsync(_key, new byte[] { 7 }, timeToLive: null, CancellationToken.None);
        Assert.Equal([7], await Store("cache").GetAsync(_key, CancellationToken.None));

        var error = await Assert.ThrowsAsync<DaprException>(() => Store("not-configured").GetAsync(_key, CancellationToken.None));
        Assert.Contains("not-configured", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.Equal(1, await Operations("get", "error"));
    }

    [Fact]
    public async Task Unavailable_sidecar_fails_the_call_and_is_counted()
    {
        _sidecar.Unavailable = true;

        await Assert.ThrowsAsync<DaprException>(() => Store().SetAsync(_key, new byte[] { 1 }, null, CancellationToken.None));

        Assert.Equal(1, await Operations("set", "error"));
        Assert.False(await Redis.KeyExistsAsync(_sidecar.RedisKey(_key)));
    }

    private DaprStateStore Store(string storeName = "statestore") => new(
        _client,
        Options.Create(new DaprTransportOptions { StateStoreName = storeName }),
        new DaprMetrics(Metrics.WithCustomRegistry(_registry)),
        NullLogger<DaprStateStore>.Instance);

    private Task<double> Operations(string operation, string result) =>
        MetricValues.ReadAsync(_registry, DaprMetricNames.StateOperations, $"operation={operation}", $"result={result}");
}

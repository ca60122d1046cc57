using CloudProxy.Core.State;
using CloudProxy.Graphite.Keys;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Tests.Keys;

public sealed class GraphiteKeyCacheTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloudproxy-graphite-keys-").FullName;
    private readonly SqliteStateStore _state;

    public GraphiteKeyCacheTests() =>
        _state = new SqliteStateStore(Options.Create(new StateOptions { Path = Path.Combine(_directory, "state.db") }), TimeProvider.System);

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private (GraphiteKeyStore Store, GraphiteKeyCache Cache) Create(bool devMode = false)
    {
        var options = Options.Create(new GraphiteOptions { Gateway = { DevMode = devMode } });
        var store = new GraphiteKeyStore(_state, options, TimeProvider.System);
        return (store, new GraphiteKeyCache(store, options, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), TimeProvider.System, NullLogger<GraphiteKeyCache>.Instance));
    }

    [Fact]
    public async Task A_created_key_is_accepted_after_a_refresh_and_nothing_else_is()
    {
        var (store, cache) = Create();
        var key = (await store.CreateAsync("team", prefix: true, CancellationToken.None)).Key!;
        Assert.Null(cache.Validate(key.Key));
        Assert.True(await cache.RefreshAsync(CancellationToken.None));
        Assert.Equal("team", cache.Validate(key.Key)?.Name);
        Assert.True(cache.Validate(key.Key)!.Prefix);
        Assert.Null(cache.Validate(key.Key[..^1]));
        Assert.Null(cache.Validate(key.Key + "x"));
        Assert.Null(cache.Validate(""));
        Assert.Null(cache.Validate(null));
        Assert.Null(cache.Validate("123"));
    }

    [Fact]
    public async Task Regenerating_replaces_the_secret_and_deleting_removes_it()
    {
        var (store, cache) = Create();
        var first = (await store.CreateAsync("team", null, CancellationToken.None)).Key!;
        var second = (await store.RegenerateAsync("team", CancellationToken.None)).Key!;
        await cache.RefreshAsync(CancellationToken.None);
        Assert.Null(cache.Validate(first.Key));
        Assert.NotNull(cache.Validate(second.Key));
        Assert.True((await store.DeleteAsync("team", CancellationToken.None)).Error is null);
        await cache.RefreshAsync(CancellationToken.None);
        Assert.Null(cache.Validate(second.Key));
        Assert.True((await store.DeleteAsync("team", CancellationToken.None)).NotFound);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has.dot")]
    [InlineData("has space")]
    [InlineData("x/y")]
    public async Task Key_names_that_would_not_be_a_clean_prefix_are_refused(string name)
    {
        var (store, _) = Create();
        Assert.NotNull((await store.CreateAsync(name, null, CancellationToken.None)).Error);
    }

    [Fact]
    public void Dev_mode_accepts_123_named_dev() => Assert.Equal("dev", Create(devMode: true).Cache.Validate("123")?.Name);

    [Fact]
    public async Task A_key_document_written_before_quotas_loads_with_no_quota_and_keeps_it_through_a_quota_edit()
    {
        // The document as the gateway wrote it before quotas existed.
        await _state.SetAsync("graphite-gateway-keys", System.Text.Encoding.UTF8.GetBytes(
            """{"keys":[{"name":"old","key":"abcdefghijklmnopqrstuvwx","prefix":true,"created":"2026-01-02T03:04:05+00:00"}]}"""), null, CancellationToken.None);
        var (store, cache) = Create();
        await cache.RefreshAsync(CancellationToken.None);
        var old = cache.Validate("abcdefghijklmnopqrstuvwx")!;
        Assert.Equal(("old", true), (old.Name, old.Prefix));
        Assert.Null(old.Quota);

        var set = await store.SetQuotaAsync("old", 100, 500, CancellationToken.None);
        Assert.Null(set.Error);
        var regenerated = (await store.RegenerateAsync("old", CancellationToken.None)).Key!;
        await cache.RefreshAsync(CancellationToken.None);
        var now = cache.Validate(regenerated.Key)!;
        Assert.Equal((100d, 500d), now.Quota);
        Assert.True(now.Prefix);

        Assert.Null((await store.SetQuotaAsync("old", 100, null, CancellationToken.None)).Error);
        Assert.Equal((100d, 100d), (await store.LoadAsync(CancellationToken.None)).Keys.Single().Quota);
        Assert.NotNull((await store.SetQuotaAsync("old", 0, null, CancellationToken.None)).Error);
        Assert.NotNull((await store.SetQuotaAsync("old", 10, 0.5, CancellationToken.None)).Error);
        Assert.True((await store.SetQuotaAsync("nobody", 10, null, CancellationToken.None)).NotFound);
        Assert.Null((await store.SetQuotaAsync("old", null, null, CancellationToken.None)).Error);
        var cleared = (await store.LoadAsync(CancellationToken.None)).Keys.Single();
        Assert.Null(cleared.Quota);

        // A key without a quota is written as before: no new fields.
        var json = System.Text.Encoding.UTF8.GetString((await _state.GetAsync("graphite-gateway-keys", CancellationToken.None))!);
        Assert.DoesNotContain("pointsPerSecond", json, StringComparison.Ordinal);
    }
}

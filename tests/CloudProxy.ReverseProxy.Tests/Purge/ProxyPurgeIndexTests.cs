using CloudProxy.ReverseProxy.Cache;
using CloudProxy.ReverseProxy.Purge;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.ReverseProxy.Tests.Purge;

public class ProxyPurgeIndexTests
{
    private static ProxyCachedResponse Entry(string url, long storedAt, params string[] tags) => new()
    {
        StatusCode = 200, StoredAtUnixMs = storedAt, Headers = [], Body = default, Url = url, Tags = tags,
    };

    private static ProxyPurgeIndex Index(out FakeTimeProvider time)
    {
        time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        return new ProxyPurgeIndex(time, TimeSpan.FromHours(1));
    }

    [Theory]
    [InlineData("/img", "/img/a.png", true)]
    [InlineData("/img", "/img", true)]
    [InlineData("/img", "/img/deep/er/a.png?x=1", true)]
    [InlineData("/img", "/images/a.png", false)]
    [InlineData("/", "/anything?at=all", true)]
    public void A_prefix_purge_covers_the_path_and_everything_under_it_segment_by_segment(string prefix, string url, bool purged)
    {
        var index = Index(out _);

        index.Apply(new ProxyPurgeRecord("r:1", ProxyPurgeKind.Prefix, prefix, 2_000));

        Assert.Equal(purged, index.IsPurged(Entry(url, 1_500)));
    }

    [Fact]
    public void A_purge_covers_entries_stored_before_it_and_not_those_stored_after()
    {
        var index = Index(out _);

        index.Apply(new ProxyPurgeRecord("r:1", ProxyPurgeKind.Tag, "product-1", 2_000));

        Assert.True(index.IsPurged(Entry("/a", 2_000, "common", "product-1")));
        Assert.False(index.IsPurged(Entry("/a", 2_001, "product-1")));
        Assert.False(index.IsPurged(Entry("/a", 1_000, "product-2")));
    }

    [Fact]
    public void A_url_purge_covers_that_url_and_query_only()
    {
        var index = Index(out _);

        index.Apply(new ProxyPurgeRecord("r:1", ProxyPurgeKind.Url, "/p?a=1&b=2", 2_000));

        Assert.True(index.IsPurged(Entry("/p?a=1&b=2", 1_000)));
        Assert.False(index.IsPurged(Entry("/p?a=1", 1_000)));
        Assert.False(index.IsPurged(Entry("/p", 1_000)));
    }

    [Fact]
    public void Purges_older_than_any_entry_can_live_are_forgotten()
    {
        var index = Index(out var time);
        index.Apply(new ProxyPurgeRecord("r:1", ProxyPurgeKind.Tag, "old", time.GetUtcNow().ToUnixTimeMilliseconds()));

        time.Advance(TimeSpan.FromHours(2));
        index.Apply(new ProxyPurgeRecord("r:2", ProxyPurgeKind.Tag, "new", time.GetUtcNow().ToUnixTimeMilliseconds()));

        Assert.Equal(1, index.Count);
    }

    [Theory]
    [InlineData("/a/b?z=1&a=2", "/a/b?a=2&z=1")]
    [InlineData("https://shop.example/caf%C3%A9?x=1", "/café?x=1")]
    [InlineData("/a%2Fb", "/a%2Fb")]
    public void A_purge_url_is_normalized_as_the_cache_key_is(string given, string expected) =>
        Assert.Equal(expected, ProxyPurgeTarget.Url(given, out _));

    [Theory]
    [InlineData("/img/", "/img")]
    [InlineData("/", "/")]
    public void A_prefix_loses_its_trailing_slash(string given, string expected) =>
        Assert.Equal(expected, ProxyPurgeTarget.Prefix(given, out _));

    [Fact]
    public void Records_round_trip_through_their_bytes_and_damaged_bytes_read_as_unreadable()
    {
        ProxyPurgeRecord[] records = [new("a:1", ProxyPurgeKind.Tag, "t", 5), new("b:7", ProxyPurgeKind.Prefix, "/x", 6)];

        var bytes = ProxyPurgeRecord.Serialize(records);

        Assert.Equal(records, ProxyPurgeRecord.Deserialize(bytes));
        Assert.Null(ProxyPurgeRecord.Deserialize(bytes[..^3]));
        Assert.Empty(ProxyPurgeRecord.Deserialize(null)!);
    }
}

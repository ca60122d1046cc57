using CloudProxy.Sentry.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace CloudProxy.Sentry.Tests.Protocol;

public sealed class SentryRateLimitTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_header_grammar_gives_seconds_categories_scope_and_reason()
    {
        var limits = SentryRateLimitParser.ParseRateLimits("60:transaction;error:organization:too_many, 2700:default:key, 10::project", "a", "KEY", "42", Now);

        Assert.Equal(3, limits.Count);
        Assert.Equal(SentryCategories.Transaction | SentryCategories.Error, limits[0].Categories);
        Assert.Equal(SentryRateLimitScope.Organization, limits[0].Scope);
        Assert.Equal("too_many", limits[0].ReasonCode);
        Assert.Equal(Now.AddSeconds(60), limits[0].ExpiresAt);
        Assert.Equal(SentryRateLimitScope.Key, limits[1].Scope);
        Assert.Equal("KEY", limits[1].ScopeValue);
        Assert.Equal(SentryCategories.None, limits[2].Categories);
        Assert.Equal("42", limits[2].ScopeValue);
        Assert.Equal("60:transaction;error:organization:too_many", limits[0].ToHeaderEntry(Now));
        Assert.Equal("10::project", limits[2].ToHeaderEntry(Now));
    }

    [Fact]
    public void A_limit_covers_a_request_only_when_it_covers_all_its_categories_and_its_scope()
    {
        var error = new SentryRateLimit("a", SentryCategories.Error, "error", SentryRateLimitScope.Key, "K", null, Now.AddSeconds(5));

        Assert.True(error.Covers("K", "1", SentryCategories.Error));
        Assert.True(error.Covers("K", "1", SentryCategories.Error | SentryCategories.Internal));
        Assert.False(error.Covers("K", "1", SentryCategories.Error | SentryCategories.Attachment));
        Assert.False(error.Covers("OTHER", "1", SentryCategories.Error));
        Assert.False(error.Covers("K", "1", SentryCategories.Internal));
    }

    [Theory]
    [InlineData(null, 60)]
    [InlineData("", 60)]
    [InlineData("17", 17)]
    [InlineData("2.5", 2.5)]
    [InlineData("Mon, 23 Nov 2026 12:00:30 GMT", 30)]
    [InlineData("soon", 60)]
    public void Retry_After_is_seconds_or_a_date(string? value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SentryRateLimitParser.ParseRetryAfter(value, Now));

    [Fact]
    public void The_table_matches_live_limits_forgets_expired_ones_and_round_trips_through_bytes()
    {
        var time = new FakeTimeProvider(Now);
        var table = new SentryRateLimitTable(time);
        table.Apply([new SentryRateLimit("a", SentryCategories.None, string.Empty, SentryRateLimitScope.Organization, null, null, Now.AddSeconds(10))]);

        Assert.True(table.TryMatch("K", "1", SentryCategories.Transaction, time.GetUtcNow(), out var matches));
        Assert.Single(matches!);
        Assert.Equal(Now.AddSeconds(10), table.LimitedUntil("a", "K", "1", SentryCategories.Error, time.GetUtcNow()));
        Assert.Null(table.LimitedUntil("b", "K", "1", SentryCategories.Error, time.GetUtcNow()));

        var copy = new SentryRateLimitTable(time);
        copy.ReplaceAll(SentryRateLimitTable.Deserialize(SentryRateLimitTable.Serialize(table.Snapshot(time.GetUtcNow()))));
        Assert.True(copy.TryMatch("K", "1", SentryCategories.Error, time.GetUtcNow(), out _));

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(table.TryMatch("K", "1", SentryCategories.Error, time.GetUtcNow(), out _));
        Assert.Empty(SentryRateLimitTable.Deserialize("not json"u8));
    }

    [Theory]
    [InlineData("100ms", 0.1)]
    [InlineData("3m0s", 180)]
    [InlineData("1h2m3.5s", 3723.5)]
    [InlineData("00:00:02", 2)]
    public void Durations_read_in_Go_or_dotnet_form(string text, double seconds)
    {
        Assert.True(SentryDuration.TryParse(text, out var value));
        Assert.Equal(seconds, value.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("5 parsecs")]
    [InlineData("-1s")]
    public void Bad_durations_are_refused(string text) => Assert.False(SentryDuration.TryParse(text, out _));
}

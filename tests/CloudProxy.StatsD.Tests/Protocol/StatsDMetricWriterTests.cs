using System.Text;
using CloudProxy.StatsD.Protocol;

namespace CloudProxy.StatsD.Tests.Protocol;

public class StatsDMetricWriterTests
{
    private static readonly StatsDKeyPolicy Plain = new(null, StatsDInvalidKeys.Reject, tagsEnabled: false);
    private static readonly StatsDKeyPolicy Tagged = new(null, StatsDInvalidKeys.Reject, tagsEnabled: true);

    private static string Write(StatsDKeyPolicy policy, string key, StatsDMetricType type, string value, bool relative = false, double rate = 1, string tags = "")
    {
        using var builder = new StatsDLineBuilder();
        Assert.True(StatsDMetricWriter.TryAppend(builder, policy, key, type, value, relative, rate, tags, out var error), error.Message);
        return Encoding.UTF8.GetString(builder.WrittenSpan);
    }

    private static StatsDError Refuse(StatsDKeyPolicy policy, string key, StatsDMetricType type, string value, bool relative = false, string tags = "")
    {
        using var builder = new StatsDLineBuilder();
        Assert.False(StatsDMetricWriter.TryAppend(builder, policy, key, type, value, relative, 1, tags, out var error));
        Assert.Equal(0, builder.Length);
        return error;
    }

    [Theory]
    [InlineData("1", "a:1|c\n")]
    [InlineData("-3", "a:-3|c\n")]
    [InlineData("1.50", "a:1.5|c\n")]
    [InlineData("1e3", "a:1000|c\n")]
    [InlineData("+7", "a:7|c\n")]
    [InlineData("0.000001", "a:1E-06|c\n")]
    [InlineData("-0", "a:0|c\n")]
    [InlineData("12345678901", "a:12345678901|c\n")]
    public void Numbers_are_written_in_invariant_shortest_form(string value, string expected)
    {
        Assert.Equal(expected, Write(Plain, "a", StatsDMetricType.Count, value));
    }

    [Theory]
    [InlineData("1,5")]
    [InlineData("1 000")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e400")]
    [InlineData("0x10")]
    [InlineData("abc")]
    [InlineData("1|c\nx:2")]
    public void Value_that_is_not_a_finite_invariant_number_is_refused(string value)
    {
        Assert.Equal(StatsDProblem.InvalidValue, Refuse(Plain, "a", StatsDMetricType.Count, value).Problem);
    }

    [Fact]
    public void Missing_time_is_refused()
    {
        Assert.Equal(StatsDProblem.MissingValue, Refuse(Plain, "a", StatsDMetricType.Timing, string.Empty).Problem);
    }

    [Fact]
    public void Negative_time_is_refused()
    {
        Assert.Equal(StatsDProblem.InvalidValue, Refuse(Plain, "a", StatsDMetricType.Timing, "-1").Problem);
    }

    [Fact]
    public void Sample_rate_below_one_is_written_for_counters_and_timers()
    {
        Assert.Equal("a:1|c|@0.25\n", Write(Plain, "a", StatsDMetricType.Count, "1", rate: 0.25));
        Assert.Equal("a:320|ms|@0.1\n", Write(Plain, "a", StatsDMetricType.Timing, "320", rate: 0.1));
        Assert.Equal("a:320|ms\n", Write(Plain, "a", StatsDMetricType.Timing, "320", rate: 1));
    }

    [Fact]
    public void Sample_rate_is_not_written_on_gauges_and_sets_which_StatsD_does_not_scale()
    {
        Assert.Equal("a:5|g\n", Write(Plain, "a", StatsDMetricType.Gauge, "5", rate: 0.5));
        Assert.Equal("a:x|s\n", Write(Plain, "a", StatsDMetricType.Set, "x", rate: 0.5));
    }

    [Theory]
    [InlineData("0.5", true)]
    [InlineData("1", true)]
    [InlineData("0.001", true)]
    [InlineData("0", false)]
    [InlineData("-0.5", false)]
    [InlineData("1.5", false)]
    [InlineData("abc", false)]
    [InlineData("", false)]
    public void Sample_rate_must_be_above_zero_and_at_most_one(string text, bool ok)
    {
        Assert.Equal(ok, StatsDNumber.TryParseSampleRate(text, out _));
    }

    [Fact]
    public void Negative_absolute_gauge_is_reset_to_zero_first_because_StatsD_reads_a_signed_gauge_as_a_shift()
    {
        Assert.Equal("g:0|g\ng:-5|g\n", Write(Plain, "g", StatsDMetricType.Gauge, "-5"));
    }

    [Theory]
    [InlineData("3", "g:+3|g\n")]
    [InlineData("+3", "g:+3|g\n")]
    [InlineData("-4.5", "g:-4.5|g\n")]
    [InlineData("0", "g:+0|g\n")]
    public void Gauge_shift_is_written_with_its_sign(string shift, string expected)
    {
        Assert.Equal(expected, Write(Plain, "g", StatsDMetricType.Gauge, shift, relative: true));
    }

    [Fact]
    public void Set_value_is_written_as_given()
    {
        Assert.Equal("users:bob@example.com|s\n", Write(Plain, "users", StatsDMetricType.Set, "bob@example.com"));
    }

    [Fact]
    public void Prefix_gets_a_dot_like_statsd_http_proxy()
    {
        var policy = new StatsDKeyPolicy("app.web", StatsDInvalidKeys.Reject, false);
        Assert.Equal("app.web.a:1|c\n", Write(policy, "a", StatsDMetricType.Count, "1"));
        Assert.Equal("app.a:1|c\n", Write(new StatsDKeyPolicy("app.", StatsDInvalidKeys.Reject, false), "a", StatsDMetricType.Count, "1"));
    }

    [Fact]
    public void Key_with_newline_injection_is_refused_in_reject_mode()
    {
        var error = Refuse(Plain, "a:1|c\nevil", StatsDMetricType.Count, "1");
        Assert.Equal(StatsDProblem.InvalidKey, error.Problem);
    }

    [Fact]
    public void Key_with_injection_is_cleaned_in_sanitize_mode()
    {
        var policy = new StatsDKeyPolicy(null, StatsDInvalidKeys.Sanitize, false);
        Assert.Equal("a1c_evil1c:1|c\n", Write(policy, "a:1|c\nevil:1|c", StatsDMetricType.Count, "1"));
    }

    [Fact]
    public void Key_that_sanitizes_to_nothing_is_refused()
    {
        var policy = new StatsDKeyPolicy(null, StatsDInvalidKeys.Sanitize, false);
        Assert.Equal(StatsDProblem.InvalidKey, Refuse(policy, "::||", StatsDMetricType.Count, "1").Problem);
    }

    [Fact]
    public void Key_longer_than_the_limit_with_the_prefix_is_refused()
    {
        var policy = new StatsDKeyPolicy("p", StatsDInvalidKeys.Reject, false);
        Refuse(policy, new string('k', StatsDNames.MaxKeyBytes - 1), StatsDMetricType.Count, "1");
        Write(policy, new string('k', StatsDNames.MaxKeyBytes - 2), StatsDMetricType.Count, "1");
    }

    [Fact]
    public void Tags_are_written_after_the_rate_when_enabled()
    {
        Assert.Equal("a:1|c|@0.5|#env:prod,beta\n", Write(Tagged, "a", StatsDMetricType.Count, "1", rate: 0.5, tags: "env:prod,beta"));
    }

    [Fact]
    public void Tags_are_refused_when_not_enabled()
    {
        Assert.Equal(StatsDProblem.TagsDisabled, Refuse(Plain, "a", StatsDMetricType.Count, "1", tags: "env:prod").Problem);
    }

    [Theory]
    [InlineData("env:prod|c")]
    [InlineData("env:prod\nx:1|c")]
    [InlineData("a,,b")]
    [InlineData("a#b")]
    public void Tags_with_injection_are_refused(string tags)
    {
        Assert.Equal(StatsDProblem.InvalidTags, Refuse(Tagged, "a", StatsDMetricType.Count, "1", tags: tags).Problem);
    }

    [Fact]
    public void Tags_with_injection_are_cleaned_in_sanitize_mode()
    {
        var policy = new StatsDKeyPolicy(null, StatsDInvalidKeys.Sanitize, true);
        Assert.Equal("a:1|c|#env:prodc,x_y\n", Write(policy, "a", StatsDMetricType.Count, "1", tags: "env:prod|c,x y"));
    }

    [Fact]
    public void More_tags_than_the_limit_are_refused()
    {
        var tags = string.Join(',', Enumerable.Range(0, StatsDNames.MaxTags + 1).Select(i => "t" + i));
        Assert.Equal(StatsDProblem.InvalidTags, Refuse(Tagged, "a", StatsDMetricType.Count, "1", tags: tags).Problem);
    }
}

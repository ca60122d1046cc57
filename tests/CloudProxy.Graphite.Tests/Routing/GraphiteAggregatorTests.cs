using System.Text;
using CloudProxy.Graphite.Routing;

namespace CloudProxy.Graphite.Tests.Routing;

public class GraphiteAggregatorTests
{
    private static GraphiteAggregator Make(string rule, int maxIntervals = 5) =>
        new([GraphiteAggregationRule.Parse(rule, 1, out var error) ?? throw new InvalidOperationException(error)], maxIntervals);

    private static string Compute(GraphiteAggregator aggregator, long now)
    {
        var output = new StringBuilder();
        aggregator.Compute(now, output);
        return output.ToString();
    }

    [Fact]
    public void An_interval_goes_out_at_the_boundary_once_and_again_with_all_values_after_a_late_point()
    {
        var aggregator = Make("app.<env>.total (10) = sum app.<env>.*");
        Assert.False(aggregator.Input("app.prod.total", 0, 1000)); // its own aggregate's name: not forwarded (FORWARD_ALL)
        Assert.True(aggregator.Input("app.prod.a", 1.5, 1001));
        aggregator.Input("app.prod.b", 2, 1009);
        Assert.Equal(string.Empty, Compute(aggregator, 1005)); // not a boundary of 10
        Assert.Equal("app.prod.total 3.5 1000\n", Compute(aggregator, 1010));
        Assert.Equal(string.Empty, Compute(aggregator, 1020)); // nothing new
        aggregator.Input("app.prod.c", 4, 1003); // late
        Assert.Equal("app.prod.total 7.5 1000\n", Compute(aggregator, 1030));
    }

    [Fact]
    public void Intervals_older_than_max_intervals_are_forgotten_after_going_out()
    {
        var aggregator = Make("agg.x (10) = count app.*", maxIntervals: 2);
        aggregator.Input("app.a", 1, 900);
        Assert.Equal("agg.x 1 900\n", Compute(aggregator, 1000)); // 900 < 1000 - 2*10: dropped after emitting
        Assert.Equal(0, aggregator.BufferCount);
        aggregator.Input("app.a", 1, 900);
        Assert.Equal("agg.x 1 900\n", Compute(aggregator, 1010)); // a new buffer: the old values are gone
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(100.0, "100")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1.0 / 3, "0.3333333333")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(0.00000000004, "0")]
    public void Values_are_written_as_carbons_line_client_writes_them(double value, string text) =>
        Assert.Equal(text, GraphiteAggregator.Format(value, whole: false));
}

using CloudProxy.Graphite.Ingress;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Tests.Ingress;

public class GraphiteBadLineLogTests
{
    [Fact]
    public void Keys_past_the_label_cap_count_as_other_and_only_the_last_lines_are_kept()
    {
        var registry = Metrics.NewCustomRegistry();
        var options = Options.Create(new GraphiteOptions { Gateway = { MaxKeyLabels = 2, RecentBadLines = 3 } });
        var log = new GraphiteBadLineLog(Metrics.WithCustomRegistry(registry), options, TimeProvider.System);
        foreach (var key in (string[])["a", "b", "c", "d"])
        {
            for (var i = 0; i < 5; i++)
            {
                log.For(key).Add(GraphiteLineProblem.Value, System.Text.Encoding.UTF8.GetBytes($"{key}.{i} x 1"));
            }
        }

        var snapshot = log.Snapshot();
        Assert.Equal(["_other", "a", "b"], snapshot.Keys.Order());
        Assert.Equal(["a.2 x 1", "a.3 x 1", "a.4 x 1"], snapshot["a"].Select(l => l.Line));
        Assert.Equal(["d.2 x 1", "d.3 x 1", "d.4 x 1"], snapshot["_other"].Select(l => l.Line));
    }
}

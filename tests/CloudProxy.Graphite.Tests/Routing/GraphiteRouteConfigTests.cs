using CloudProxy.Graphite.Routing;

namespace CloudProxy.Graphite.Tests.Routing;

public class GraphiteRouteConfigTests
{
    [Theory]
    [InlineData("cluster a forward 127.0.0.1:2003;\nmatch ^a( send to a;", "line 2: match rule 1 (^a()")]
    [InlineData("cluster a forward 127.0.0.1:2003;\nmatch * send to b stop;", "line 2: match rule 1 (*): cluster b is not defined above it")]
    [InlineData("cluster a any_of 127.0.0.1:2003;", "line 1: cluster a: type `any_of` is not supported")]
    [InlineData("cluster a forward 127.0.0.1:99999;", "line 1: cluster a: member '127.0.0.1:99999'")]
    [InlineData("cluster a fnv1a_ch replication 3 127.0.0.1:2003 127.0.0.1:2004;", "line 1: cluster a: replication 3 is more than its 2 member(s)")]
    [InlineData("cluster a forward 127.0.0.1:2003;\n\nrewrite ^x into;", "line 3: rewrite rule 1 must read")]
    [InlineData("cluster a forward 127.0.0.1:2003;\nrewrite ^(x[ into y;", "line 2: rewrite rule 1 (^(x[)")]
    [InlineData("listen type linemode 2003 proto tcp;", "line 1: `listen` is not supported")]
    [InlineData("cluster a forward 127.0.0.1:2003;\nmatch * send to a", "line 2: `match …` does not end with ;")]
    [InlineData("cluster a forward 127.0.0.1:2003;", "has no match rule")]
    public void A_bad_rule_is_refused_naming_it(string text, string message)
    {
        var errors = new List<string>();
        Assert.Null(GraphiteRouteConfig.Parse(text, errors));
        Assert.Contains(errors, e => e.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        var errors = new List<string>();
        Assert.Null(GraphiteRouteConfig.Parse("cluster a forward 127.0.0.1:2003;\nmatch ^a( send to a;\nmatch * send to nope;\n", errors));
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public async Task The_dry_run_command_exits_2_naming_the_rule()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "cluster a forward 127.0.0.1:2003;\nmatch ^ok send to a;\nmatch ^bad( send to a;\n");
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await GraphiteRouteTestCommand.RunAsync(["--rules", path], new StringReader("x 1 1\n"), stdout, stderr);
            Assert.Equal(2, code);
            Assert.Contains("line 3: match rule 2 (^bad()", stderr.ToString(), StringComparison.Ordinal);
            Assert.Empty(stdout.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task The_dry_run_command_prints_each_lines_walk()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "cluster a forward 127.0.0.1:2003;\nmatch ^ok\\. send to a stop;\n");
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await GraphiteRouteTestCommand.RunAsync(["--rules", path], new StringReader("ok.x 1 1\n\nno.x 1 1\n"), stdout, stderr);
            Assert.Equal(0, code);
            Assert.Equal("match\n    ^ok\\. [strncmp: ok.]\n    -> ok.x\n    forward(a)\n        127.0.0.1:2003\n    stop\nnothing matched no.x\n", stdout.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using System.Text;
using CloudProxy.StatsD.Protocol;

namespace CloudProxy.StatsD.Tests.Protocol;

public class StatsDLineParserTests
{
    private static readonly StatsDKeyPolicy Policy = new("p", StatsDInvalidKeys.Reject, tagsEnabled: true);

    [Theory]
    [InlineData("a:1|c", "p.a:1|c\n")]
    [InlineData("a:1.0|c|@0.5", "p.a:1|c|@0.5\n")]
    [InlineData("a:12|ms|@0.1|#env:prod", "p.a:12|ms|@0.1|#env:prod\n")]
    [InlineData("a:5|g", "p.a:5|g\n")]
    [InlineData("a:-5|g", "p.a:-5|g\n")]
    [InlineData("a:+5|g", "p.a:+5|g\n")]
    [InlineData("a:bob|s", "p.a:bob|s\n")]
    [InlineData("a:1|c|#x", "p.a:1|c|#x\n")]
    public void Valid_line_is_rebuilt_with_the_prefix(string line, string expected)
    {
        using var builder = new StatsDLineBuilder();
        Assert.True(StatsDLineParser.TryAppend(builder, Policy, line, out var error), error.Message);
        Assert.Equal(expected, Encoding.UTF8.GetString(builder.WrittenSpan));
    }

    [Theory]
    [InlineData("a", StatsDProblem.MalformedLine)]
    [InlineData("a:1", StatsDProblem.MalformedLine)]
    [InlineData("a:1|x", StatsDProblem.InvalidType)]
    [InlineData("a:1|c:2|c", StatsDProblem.InvalidType)]
    [InlineData("a:1|c|@2", StatsDProblem.InvalidSampleRate)]
    [InlineData("a:1|c|@0.5|@0.5", StatsDProblem.MalformedLine)]
    [InlineData("a:1|c|extra", StatsDProblem.MalformedLine)]
    [InlineData("a:1|c|#", StatsDProblem.InvalidTags)]
    [InlineData(":1|c", StatsDProblem.InvalidKey)]
    [InlineData("a@b:1|c", StatsDProblem.InvalidKey)]
    [InlineData("a:x|c", StatsDProblem.InvalidValue)]
    [InlineData("a:|c", StatsDProblem.MissingValue)]
    public void Invalid_line_is_refused_and_nothing_is_written(string line, StatsDProblem problem)
    {
        using var builder = new StatsDLineBuilder();
        Assert.False(StatsDLineParser.TryAppend(builder, Policy, line, out var error));
        Assert.Equal(problem, error.Problem);
        Assert.Equal(0, builder.Length);
    }
}

using System.Text;
using CloudProxy.Graphite.Protocol;

namespace CloudProxy.Graphite.Tests.Protocol;

public class GraphiteLineParserTests
{
    private const long Now = 1_700_000_000;
    private static readonly GraphiteLineRules Rules = GraphiteLineRules.At(Now, 64, 3600, 600);

    private sealed class BadLines : IGraphiteBadLines
    {
        public List<(GraphiteLineProblem Problem, string Line)> Seen { get; } = [];

        public void Add(GraphiteLineProblem problem, ReadOnlySpan<byte> line) => Seen.Add((problem, Encoding.UTF8.GetString(line)));
    }

    private static (string Output, GraphiteBatchResult Result, BadLines Bad) Write(string text, string prefix = "", bool final = true)
    {
        using var output = new GraphitePooledBuffer(16);
        var bad = new BadLines();
        var result = GraphiteBatchWriter.Write(Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(prefix), Rules, output, bad, final);
        return (Encoding.UTF8.GetString(output.WrittenSpan), result, bad);
    }

    [Fact]
    public void Good_lines_are_written_normalised_with_whole_second_timestamps()
    {
        var (output, result, _) = Write("a.b 1.5 1700000000\r\nc\t\t-2e3   1700000001.9\n");
        Assert.Equal("a.b 1.5 1700000000\nc -2e3 1700000001\n", output);
        Assert.Equal(new GraphiteBatchResult(2, 0, 43), result);
    }

    [Fact]
    public void Timestamp_minus_one_means_now() => Assert.Equal($"x 1 {Now}\n", Write("x 1 -1").Output);

    [Fact]
    public void A_prefix_is_joined_with_a_dot() => Assert.Equal("team.x 1 1700000000\n", Write("x 1 1700000000\n", "team").Output);

    [Fact]
    public void Blank_lines_are_skipped_without_counting_as_bad()
    {
        var (output, result, _) = Write("\n   \nx 1 1700000000\n\n");
        Assert.Equal("x 1 1700000000\n", output);
        Assert.Equal(0, result.Bad);
    }

    [Theory]
    [InlineData("only.two 1", GraphiteLineProblem.Fields)]
    [InlineData("a b c d", GraphiteLineProblem.Fields)]
    [InlineData("a.b NaN 1700000000", GraphiteLineProblem.NotFinite)]
    [InlineData("a.b nan 1700000000", GraphiteLineProblem.NotFinite)]
    [InlineData("a.b Infinity 1700000000", GraphiteLineProblem.NotFinite)]
    [InlineData("a.b 12abc 1700000000", GraphiteLineProblem.Value)]
    [InlineData("a.b 0x10 1700000000", GraphiteLineProblem.Value)]
    [InlineData("a.b 1 yesterday", GraphiteLineProblem.Timestamp)]
    [InlineData("a.b 1 1600000000", GraphiteLineProblem.TimestampRange)]
    [InlineData("a.b 1 1800000000", GraphiteLineProblem.TimestampRange)]
    [InlineData("a/b 1 1700000000", GraphiteLineProblem.NameCharacters)]
    [InlineData("a\\b 1 1700000000", GraphiteLineProblem.NameCharacters)]
    [InlineData("a\u0001b 1 1700000000", GraphiteLineProblem.NameCharacters)]
    [InlineData(".a 1 1700000000", GraphiteLineProblem.NameDots)]
    [InlineData("a. 1 1700000000", GraphiteLineProblem.NameDots)]
    [InlineData("a..b 1 1700000000", GraphiteLineProblem.NameDots)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 1700000000", GraphiteLineProblem.NameTooLong)]
    public void Bad_lines_are_refused_with_their_reason_and_the_rest_of_the_batch_goes_through(string line, GraphiteLineProblem problem)
    {
        var (output, result, bad) = Write($"good.one 1 1700000000\n{line}\ngood.two 2 1700000000\n");
        Assert.Equal("good.one 1 1700000000\ngood.two 2 1700000000\n", output);
        Assert.Equal(2, result.Good);
        Assert.Equal(1, result.Bad);
        Assert.Equal((problem, line), Assert.Single(bad.Seen));
    }

    [Fact]
    public void Invalid_utf8_in_a_name_is_refused()
    {
        using var output = new GraphitePooledBuffer(16);
        var bad = new BadLines();
        var result = GraphiteBatchWriter.Write([(byte)'a', 0xC3, 0x28, (byte)' ', (byte)'1', (byte)' ', (byte)'-', (byte)'1'], default, Rules, output, bad);
        Assert.Equal(GraphiteLineProblem.NameCharacters, Assert.Single(bad.Seen).Problem);
        Assert.Equal(0, result.Good);
    }

    [Fact]
    public void Utf8_names_are_accepted() => Assert.Equal("température.x 1 1700000000\n", Write("température.x 1 1700000000").Output);

    [Fact]
    public void Without_final_an_unterminated_tail_is_left_for_the_next_read()
    {
        var (output, result, _) = Write("a 1 1700000000\nb 2 17000", final: false);
        Assert.Equal("a 1 1700000000\n", output);
        Assert.Equal(15, result.Consumed);
    }
}

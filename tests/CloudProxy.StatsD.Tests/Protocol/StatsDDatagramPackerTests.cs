using System.Text;
using CloudProxy.StatsD.Protocol;

namespace CloudProxy.StatsD.Tests.Protocol;

public class StatsDDatagramPackerTests
{
    private static List<string> Pack(int max, bool terminate, params string[] payloads)
    {
        using var packer = new StatsDDatagramPacker(max, terminate);
        for (var i = 0; i < payloads.Length; i++)
        {
            packer.Add(Encoding.UTF8.GetBytes(payloads[i]), i);
        }

        packer.Complete();
        return [.. packer.Datagrams.Select(d => Encoding.UTF8.GetString(packer.GetBytes(d).Span))];
    }

    [Fact]
    public void Lines_that_fill_a_datagram_exactly_go_in_one_datagram()
    {
        // "aaaa:1|c" is 8 bytes; two lines plus one separator are 17 bytes.
        Assert.Equal(["aaaa:1|c\nbbbb:1|c"], Pack(17, false, "aaaa:1|c\nbbbb:1|c\n"));
    }

    [Fact]
    public void One_byte_over_the_limit_starts_a_new_datagram()
    {
        Assert.Equal(["aaaa:1|c", "bbbb:1|c"], Pack(16, false, "aaaa:1|c\nbbbb:1|c\n"));
    }

    [Fact]
    public void Line_longer_than_the_limit_goes_alone_and_is_flagged()
    {
        using var packer = new StatsDDatagramPacker(10);
        packer.Add("a:1|c\nlonglonglong:1|c\nb:1|c\n"u8, 0);
        packer.Complete();
        var datagrams = packer.Datagrams;
        Assert.Equal(3, datagrams.Count);
        Assert.Equal("a:1|c", Encoding.UTF8.GetString(packer.GetBytes(datagrams[0]).Span));
        Assert.Equal("longlonglong:1|c", Encoding.UTF8.GetString(packer.GetBytes(datagrams[1]).Span));
        Assert.True(datagrams[1].Oversize);
        Assert.False(datagrams[0].Oversize);
        Assert.Equal("b:1|c", Encoding.UTF8.GetString(packer.GetBytes(datagrams[2]).Span));
    }

    [Fact]
    public void Many_lines_across_envelopes_are_packed_in_order_without_splitting_any_line()
    {
        var payloads = Enumerable.Range(0, 50).Select(i => $"metric.{i}:{i}|c\nother.{i}:{i}|ms\n").ToArray();
        var datagrams = Pack(100, false, payloads);
        Assert.All(datagrams, d => Assert.True(Encoding.UTF8.GetByteCount(d) <= 100));
        var lines = datagrams.SelectMany(d => d.Split('\n')).ToList();
        var expected = payloads.SelectMany(p => p.Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(expected, lines);

        // Each datagram but the last is full enough that the next line would not have fitted.
        for (var i = 0; i < datagrams.Count - 1; i++)
        {
            var next = datagrams[i + 1].Split('\n')[0];
            Assert.True(Encoding.UTF8.GetByteCount(datagrams[i]) + 1 + next.Length > 100);
        }
    }

    [Fact]
    public void Datagram_remembers_the_first_envelope_it_carries()
    {
        using var packer = new StatsDDatagramPacker(12);
        packer.Add("a:1|c\n"u8, 0);
        packer.Add("b:1|c\n"u8, 1);
        packer.Add("c:1|c\n"u8, 2);
        packer.Complete();
        Assert.Equal([0, 2], packer.Datagrams.Select(d => d.FirstItem));
        Assert.Equal([2, 1], packer.Datagrams.Select(d => d.LineCount));
    }

    [Fact]
    public void Empty_lines_and_a_missing_last_newline_are_tolerated()
    {
        Assert.Equal(["a:1|c\nb:1|c"], Pack(100, false, "\n\na:1|c\n\nb:1|c"));
    }

    [Fact]
    public void Stream_mode_keeps_every_newline()
    {
        Assert.Equal(["a:1|c\nb:1|c\n", "c:1|c\n"], Pack(12, true, "a:1|c\nb:1|c\nc:1|c\n"));
    }

    [Fact]
    public void Multibyte_keys_are_counted_in_bytes()
    {
        // "é:1|c" is 6 bytes in UTF-8; two of them plus a separator are 13.
        Assert.Equal(["é:1|c", "é:1|c"], Pack(12, false, "é:1|c\né:1|c\n"));
        Assert.Equal(["é:1|c\né:1|c"], Pack(13, false, "é:1|c\né:1|c\n"));
    }
}

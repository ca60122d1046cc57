using System.Buffers.Text;

namespace CloudProxy.Graphite.Protocol;

/// <summary>Told about each refused line (for counters and the recent-bad-lines view).</summary>
internal interface IGraphiteBadLines
{
    void Add(GraphiteLineProblem problem, ReadOnlySpan<byte> line);
}

/// <summary>What one pass over a block of lines produced.</summary>
internal readonly record struct GraphiteBatchResult(int Good, int Bad, int Consumed);

/// <summary>
/// Splits a block of plaintext into lines, validates each with <see cref="GraphiteLineParser"/> and writes the
/// good ones, normalised (<c>prefix.path value seconds\n</c>), to the output. Bad lines are reported and
/// skipped: the rest of the batch still goes through.
/// </summary>
internal static class GraphiteBatchWriter
{
    /// <param name="text">The lines; with <paramref name="final"/> false an unterminated last line is left unread.</param>
    /// <param name="prefix">Written before each name with a dot, or empty.</param>
    public static GraphiteBatchResult Write(
        ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, in GraphiteLineRules rules, GraphitePooledBuffer output, IGraphiteBadLines? bad, bool final = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        int good = 0, refused = 0, consumed = 0;
        var rest = text;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line;
            if (end < 0)
            {
                if (!final)
                {
                    break;
                }

                line = rest;
                consumed += rest.Length;
                rest = default;
            }
            else
            {
                line = rest[..end];
                consumed += end + 1;
                rest = rest[(end + 1)..];
            }

            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0)
            {
                continue;
            }

            var problem = GraphiteLineParser.Parse(line, rules, out var name, out var value, out var timestamp);
            if (problem != GraphiteLineProblem.None)
            {
                refused++;
                bad?.Add(problem, line);
                continue;
            }

            good++;
            var span = output.GetSpan(prefix.Length + name.Length + value.Length + 24);
            var at = 0;
            if (!prefix.IsEmpty)
            {
                prefix.CopyTo(span);
                span[prefix.Length] = (byte)'.';
                at = prefix.Length + 1;
            }

            name.CopyTo(span[at..]);
            at += name.Length;
            span[at++] = (byte)' ';
            value.CopyTo(span[at..]);
            at += value.Length;
            span[at++] = (byte)' ';
            Utf8Formatter.TryFormat(timestamp, span[at..], out var written);
            at += written;
            span[at++] = (byte)'\n';
            output.Advance(at);
        }

        return new GraphiteBatchResult(good, refused, consumed);
    }
}

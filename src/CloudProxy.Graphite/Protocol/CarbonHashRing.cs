using System.Security.Cryptography;
using System.Text;

namespace CloudProxy.Graphite.Protocol;

/// <summary>Picks destinations for a metric name; thread-safe once built.</summary>
internal interface IGraphiteRing
{
    /// <summary>Fills <paramref name="into"/> with up to its length distinct destination indexes; returns how many.</summary>
    int GetNodes(ReadOnlySpan<byte> metric, Span<int> into);
}

/// <summary>
/// carbon's <c>ConsistentHashRing</c> (carbon/hashing.py, hash type carbon_ch) exactly: nodes are the tuples
/// <c>(server, instance)</c>, each replica key is the tuple's Python repr plus <c>:i</c> (so a missing
/// instance is <c>None</c>), a position is the first 16 bits of its MD5, a position already taken moves up
/// by one until free, and lookups are Python's <c>bisect_left</c> then a walk for distinct nodes.
/// </summary>
internal sealed class CarbonHashRing : IGraphiteRing
{
    public const int Replicas = 100;

    private readonly int[] _positions;
    private readonly int[] _nodes;
    private readonly int _nodeCount;

    public CarbonHashRing(IReadOnlyList<GraphiteDestination> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        _nodeCount = destinations.Count;
        var ring = new List<(int Position, int Node)>(destinations.Count * Replicas);
        var taken = new HashSet<int>();
        for (var node = 0; node < destinations.Count; node++)
        {
            var tuple = $"({PythonRepr(destinations[node].Host)}, {(destinations[node].Instance is { } i ? PythonRepr(i) : "None")})";
            for (var replica = 0; replica < Replicas; replica++)
            {
                var position = Position(Encoding.UTF8.GetBytes($"{tuple}:{replica}"));
                while (!taken.Add(position))
                {
                    position++;
                }

                ring.Add((position, node));
            }
        }

        // Positions are unique after the collision walk, so ordering by position alone equals Python's tuple order.
        ring.Sort((a, b) => a.Position.CompareTo(b.Position));
        _positions = [.. ring.Select(e => e.Position)];
        _nodes = [.. ring.Select(e => e.Node)];
    }

    /// <summary><c>int(md5(key).hexdigest()[:4], 16)</c>.</summary>
    public static int Position(ReadOnlySpan<byte> key)
    {
        Span<byte> digest = stackalloc byte[16];
#pragma warning disable CA5351 // carbon's placement is defined by MD5; this is compatibility, not security.
        MD5.HashData(key, digest);
#pragma warning restore CA5351
        return (digest[0] << 8) | digest[1];
    }

    public int GetNodes(ReadOnlySpan<byte> metric, Span<int> into)
    {
        if (into.IsEmpty || _positions.Length == 0)
        {
            return 0;
        }

        if (_nodeCount == 1)
        {
            into[0] = _nodes[0];
            return 1;
        }

        var length = _positions.Length;
        var index = LowerBound(_positions, Position(metric)) % length;
        var last = (index - 1 + length) % length;
        var found = 0;
        while (found < into.Length && found < _nodeCount && index != last)
        {
            var node = _nodes[index];
            if (!into[..found].Contains(node))
            {
                into[found++] = node;
            }

            index = (index + 1) % length;
        }

        return found;
    }

    /// <summary>Python's <c>repr()</c> of a str: single quotes unless the text holds one and no double quote.</summary>
    public static string PythonRepr(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var quote = value.Contains('\'', StringComparison.Ordinal) && !value.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var text = new StringBuilder(value.Length + 2).Append(quote);
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c == quote)
                    {
                        text.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c == 0x7F)
                    {
                        text.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        return text.Append(quote).ToString();
    }

    /// <summary>Index of the first position &gt;= <paramref name="value"/> (Python's bisect_left).</summary>
    internal static int LowerBound(int[] sorted, int value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}

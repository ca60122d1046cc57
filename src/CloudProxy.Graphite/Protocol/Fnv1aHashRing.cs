using System.Text;

namespace CloudProxy.Graphite.Protocol;

/// <summary>
/// carbon-c-relay 3.x's <c>fnv1a_ch</c> (consistent-hash.c): replica keys <c>i-host:port</c>, or <c>i-instance</c>
/// when the destination names an instance (so a host can move and keep its metrics), 32-bit FNV-1a folded to
/// 16 bits, ring ordered by (position, host, port) with no collision walk; entries sharing a position all
/// take the first one's server; lookup is the first entry at or after the metric's position, then distinct
/// servers. Bytes are XORed as C's signed <c>char</c> (sign-extended), as the relay does on x86.
/// </summary>
internal sealed class Fnv1aHashRing : IGraphiteRing
{
    private readonly int[] _positions;
    private readonly int[] _nodes;
    private readonly int _nodeCount;

    public Fnv1aHashRing(IReadOnlyList<GraphiteDestination> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        _nodeCount = destinations.Count;
        var ring = new List<(int Position, int Node)>(destinations.Count * CarbonHashRing.Replicas);
        for (var node = 0; node < destinations.Count; node++)
        {
            for (var replica = 0; replica < CarbonHashRing.Replicas; replica++)
            {
                var d = destinations[node];
                var key = Encoding.UTF8.GetBytes(d.Instance is null ? $"{replica}-{d.Host}:{d.Port}" : $"{replica}-{d.Instance}");
                ring.Add((Position(key), node));
            }
        }

        ring.Sort((a, b) =>
        {
            var d = a.Position.CompareTo(b.Position);
            if (d != 0)
            {
                return d;
            }

            d = string.CompareOrdinal(destinations[a.Node].Host, destinations[b.Node].Host);
            return d != 0 ? d : destinations[a.Node].Port.CompareTo(destinations[b.Node].Port);
        });
        _positions = [.. ring.Select(e => e.Position)];
        _nodes = [.. ring.Select(e => e.Node)];
        for (var i = 1; i < _positions.Length; i++)
        {
            if (_positions[i] == _positions[i - 1])
            {
                _nodes[i] = _nodes[i - 1];
            }
        }
    }

    public static int Position(ReadOnlySpan<byte> key)
    {
        var hash = 2166136261u;
        foreach (var b in key)
        {
            hash = (hash ^ (uint)(sbyte)b) * 16777619u;
        }

        return (int)((hash >> 16) ^ (hash & 0xFFFF));
    }

    public int GetNodes(ReadOnlySpan<byte> metric, Span<int> into)
    {
        if (into.IsEmpty || _positions.Length == 0)
        {
            return 0;
        }

        var index = CarbonHashRing.LowerBound(_positions, Position(metric));
        var found = 0;
        var wanted = Math.Min(into.Length, _nodeCount);
        while (found < wanted)
        {
            if (index >= _positions.Length)
            {
                index = 0;
            }

            var node = _nodes[index++];
            if (!into[..found].Contains(node))
            {
                into[found++] = node;
            }
        }

        return found;
    }
}

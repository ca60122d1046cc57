using System.Globalization;

namespace CloudProxy.Graphite.Protocol;

/// <summary>A carbon line receiver, <c>host:port[:instance]</c> as carbon's <c>DESTINATIONS</c> spells it.</summary>
internal sealed record GraphiteDestination(string Host, int Port, string? Instance)
{
    /// <summary>Stable name for metric labels and spool files.</summary>
    public string Name => Instance is null ? $"{Host}:{Port}" : $"{Host}:{Port}:{Instance}";

    public override string ToString() => Name;

    /// <summary>Parses like carbon's <c>parseDestination</c> (<c>[v6]:port</c> too); null and a reason on failure.</summary>
    public static GraphiteDestination? Parse(string text, out string? error)
    {
        error = null;
        var s = (text ?? string.Empty).Trim();
        string host, rest;
        var bracket = s.IndexOf("]:", StringComparison.Ordinal);
        if (s.StartsWith('[') && bracket > 0)
        {
            host = s[1..bracket];
            rest = s[(bracket + 2)..];
        }
        else
        {
            var colon = s.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error = $"'{text}' is not host:port[:instance]";
                return null;
            }

            host = s[..colon];
            rest = s[(colon + 1)..];
        }

        string? instance = null;
        var split = rest.IndexOf(':', StringComparison.Ordinal);
        if (split >= 0)
        {
            instance = rest[(split + 1)..];
            rest = rest[..split];
        }

        if (host.Length == 0 || !int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"'{text}' is not host:port[:instance] with a port between 1 and 65535";
            return null;
        }

        return new GraphiteDestination(host, port, instance);
    }
}

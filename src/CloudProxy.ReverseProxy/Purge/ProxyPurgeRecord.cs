using System.Text;

namespace CloudProxy.ReverseProxy.Purge;

internal enum ProxyPurgeKind
{
    /// <summary>Every entry (what a replica assumes when purge records were dropped before it read them).</summary>
    All = 0,

    /// <summary>One URL: path and normalized query.</summary>
    Url = 1,

    /// <summary>A path and everything under it, segment by segment (<c>/img</c> covers <c>/img/a.png</c>, not <c>/images</c>).</summary>
    Prefix = 2,

    /// <summary>Every entry whose response carried the tag in <c>Surrogate-Key</c> or <c>Cache-Tag</c>.</summary>
    Tag = 3,
}

/// <summary>One purge: entries it matches that were stored at or before <see cref="AtUnixMs"/> are no longer served.</summary>
internal readonly record struct ProxyPurgeRecord(string Id, ProxyPurgeKind Kind, string Value, long AtUnixMs)
{
    private const byte FormatVersion = 1;

    public static byte[] Serialize(IReadOnlyCollection<ProxyPurgeRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            writer.Write(records.Count);
            foreach (var record in records)
            {
                writer.Write(record.Id);
                writer.Write((byte)record.Kind);
                writer.Write(record.Value);
                writer.Write(record.AtUnixMs);
            }
        }

        return stream.ToArray();
    }

    /// <summary>The records, or null for bytes this version cannot read (then the log is rewritten from what this replica knows).</summary>
    public static List<ProxyPurgeRecord>? Deserialize(byte[]? data)
    {
        if (data is null)
        {
            return [];
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
            if (reader.ReadByte() != FormatVersion)
            {
                return null;
            }

            var count = reader.ReadInt32();
            if (count < 0 || count > data.Length)
            {
                return null;
            }

            var records = new List<ProxyPurgeRecord>(count);
            for (var i = 0; i < count; i++)
            {
                var id = reader.ReadString();
                var kind = (ProxyPurgeKind)reader.ReadByte();
                var value = reader.ReadString();
                records.Add(new ProxyPurgeRecord(id, Enum.IsDefined(kind) ? kind : ProxyPurgeKind.All, value, reader.ReadInt64()));
            }

            return records;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}

using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// One stored response: status, end-to-end headers, body, when it was stored, and (for a Vary-ing response)
/// the varied header names with the request values it answers. Serialized as a small versioned binary record
/// so every store (memory, Redis, Dapr) holds plain bytes.
/// </summary>
public sealed class ProxyCachedResponse
{
    private const byte FormatVersion = 1;

    /// <summary>Hop-by-hop and per-response headers that are never replayed from the cache.</summary>
    private static readonly HashSet<string> NotStored = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Connection, HeaderNames.KeepAlive, HeaderNames.TransferEncoding, HeaderNames.TE, HeaderNames.Trailer,
        HeaderNames.Upgrade, HeaderNames.ProxyAuthenticate, HeaderNames.ProxyAuthorization, HeaderNames.Age, "X-Cache",
        HeaderNames.ContentLength,

        // The limiter's fields describe the request that fetched the entry, not the ones it is served to.
        RateLimiting.ProxyRateLimitHeaders.Policy, RateLimiting.ProxyRateLimitHeaders.State,
    };

    public required int StatusCode { get; init; }

    public required long StoredAtUnixMs { get; init; }

    /// <summary>End of freshness; checked on lookup because a store may keep an entry a little longer (Dapr TTLs are whole seconds).</summary>
    public long ExpiresAtUnixMs { get; init; }

    public required IReadOnlyList<KeyValuePair<string, string[]>> Headers { get; init; }

    public required ReadOnlyMemory<byte> Body { get; init; }

    public IReadOnlyList<string> Vary { get; init; } = [];

    /// <summary>The request's values of the <see cref="Vary"/> headers this response was stored for.</summary>
    public string VaryValues { get; init; } = string.Empty;

    public static ProxyCachedResponse From(HttpResponse response, ReadOnlyMemory<byte> body, long storedAtUnixMs, long expiresAtUnixMs, IReadOnlyList<string> vary, string varyValues)
    {
        ArgumentNullException.ThrowIfNull(response);
        var headers = response.Headers
            .Where(h => !NotStored.Contains(h.Key))
            .Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.Select(v => v ?? string.Empty).ToArray()))
            .ToList();
        return new ProxyCachedResponse { StatusCode = response.StatusCode, StoredAtUnixMs = storedAtUnixMs, ExpiresAtUnixMs = expiresAtUnixMs, Headers = headers, Body = body, Vary = vary, VaryValues = varyValues };
    }

    public byte[] Serialize()
    {
        using var stream = new MemoryStream(Body.Length + 256);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            writer.Write(StatusCode);
            writer.Write(StoredAtUnixMs);
            writer.Write(ExpiresAtUnixMs);
            writer.Write(Vary.Count);
            foreach (var name in Vary)
            {
                writer.Write(name);
            }

            writer.Write(VaryValues);
            writer.Write(Headers.Count);
            foreach (var (name, values) in Headers)
            {
                writer.Write(name);
                writer.Write(values.Length);
                foreach (var value in values)
                {
                    writer.Write(value);
                }
            }

            writer.Write(Body.Length);
            writer.Write(Body.Span);
        }

        return stream.ToArray();
    }

    /// <summary>Reads an entry; null for bytes this version cannot read (another version's, or damaged), which count as a miss.</summary>
    public static ProxyCachedResponse? Deserialize(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
            if (reader.ReadByte() != FormatVersion)
            {
                return null;
            }

            var status = reader.ReadInt32();
            var storedAt = reader.ReadInt64();
            var expiresAt = reader.ReadInt64();
            var vary = new string[reader.ReadInt32()];
            for (var i = 0; i < vary.Length; i++)
            {
                vary[i] = reader.ReadString();
            }

            var varyValues = reader.ReadString();
            var headers = new List<KeyValuePair<string, string[]>>(reader.ReadInt32());
            for (var count = headers.Capacity; count > 0; count--)
            {
                var name = reader.ReadString();
                var values = new string[reader.ReadInt32()];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = reader.ReadString();
                }

                headers.Add(new(name, values));
            }

            var length = reader.ReadInt32();
            var offset = (int)reader.BaseStream.Position;
            if (length < 0 || offset + length != data.Length)
            {
                return null;
            }

            return new ProxyCachedResponse
            {
                StatusCode = status, StoredAtUnixMs = storedAt, ExpiresAtUnixMs = expiresAt, Vary = vary, VaryValues = varyValues, Headers = headers,
                Body = data.AsMemory(offset, length),
            };
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}

using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// One stored response: status, end-to-end headers, body, when it was stored and how long each use of it lasts
/// (fresh, stale-while-revalidate, stale-if-error), for a Vary-ing response the varied header names with the
/// request values it answers, and for purges its URL and tags. Serialized as a small versioned binary record
/// so every store (memory, Redis, Dapr) holds plain bytes.
/// </summary>
internal sealed class ProxyCachedResponse
{
    private const byte FormatVersion = 2;

    /// <summary>Hop-by-hop and per-response headers that are never replayed from the cache.</summary>
    private static readonly HashSet<string> NotStored = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Connection, HeaderNames.KeepAlive, HeaderNames.TransferEncoding, HeaderNames.TE, HeaderNames.Trailer,
        HeaderNames.Upgrade, HeaderNames.ProxyAuthenticate, HeaderNames.ProxyAuthorization, HeaderNames.Age, "X-Cache",
        HeaderNames.ContentLength,

        // The limiter's fields describe the request that fetched the entry, not the ones it is served to.
        RateLimiting.ProxyRateLimitHeaders.Policy, RateLimiting.ProxyRateLimitHeaders.State,
    };

    /// <summary>Fields a 304 must not replace in the stored response (RFC 9111 §3.2): they describe the stored body.</summary>
    private static readonly HashSet<string> KeptOnUpdate = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.ContentType, HeaderNames.ContentEncoding, HeaderNames.ContentRange, "Content-MD5",
    };

    public required int StatusCode { get; init; }

    public required long StoredAtUnixMs { get; init; }

    /// <summary>End of freshness; checked on lookup because a store may keep an entry a little longer (Dapr TTLs are whole seconds).</summary>
    public long ExpiresAtUnixMs { get; init; }

    /// <summary>End of stale-while-revalidate (= <see cref="ExpiresAtUnixMs"/> when none).</summary>
    public long StaleWhileRevalidateUntilUnixMs { get; init; }

    /// <summary>End of stale-if-error (= <see cref="ExpiresAtUnixMs"/> when none).</summary>
    public long StaleIfErrorUntilUnixMs { get; init; }

    /// <summary>Never used stale without validation (no-cache, must-revalidate, proxy-revalidate).</summary>
    public bool MustRevalidate { get; init; }

    public required IReadOnlyList<KeyValuePair<string, string[]>> Headers { get; init; }

    public required ReadOnlyMemory<byte> Body { get; init; }

    public IReadOnlyList<string> Vary { get; init; } = [];

    /// <summary>The request's values of the <see cref="Vary"/> headers this response was stored for.</summary>
    public string VaryValues { get; init; } = string.Empty;

    /// <summary>Path and normalized query, as purges name it (<see cref="Purge.ProxyPurgeIndex"/>).</summary>
    public string Url { get; init; } = string.Empty;

    /// <summary>The back end's <c>Surrogate-Key</c> and <c>Cache-Tag</c> values, for purges by tag.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    public string? ETag => Header(HeaderNames.ETag);

    public string? LastModified => Header(HeaderNames.LastModified);

    public string? Header(string name)
    {
        foreach (var (key, values) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase) && values.Length > 0)
            {
                return values[0];
            }
        }

        return null;
    }

    /// <summary>An entry for a response stored now with <paramref name="lifetime"/>.</summary>
    public static ProxyCachedResponse Create(int status, IHeaderDictionary headers, ReadOnlyMemory<byte> body, long nowUnixMs, ProxyCacheLifetime lifetime,
        IReadOnlyList<string> vary, string varyValues, string url, IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return Timed(status, Storable(headers), body, nowUnixMs, lifetime, vary, varyValues, url, tags);
    }

    /// <summary>
    /// This entry refreshed by a 304 (RFC 9111 §4.3.4): the 304's fields replace the stored ones of the same name
    /// (but those describing the body), the body stays, and the lifetime starts again from now.
    /// </summary>
    public ProxyCachedResponse Refreshed(IHeaderDictionary notModified, long nowUnixMs, ProxyCacheLifetime lifetime, IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(notModified);
        var update = Storable(notModified).Where(h => !KeptOnUpdate.Contains(h.Key)).ToList();
        var names = new HashSet<string>(update.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);
        var headers = Headers.Where(h => !names.Contains(h.Key)).Concat(update).ToList();
        return Timed(StatusCode, headers, Body, nowUnixMs, lifetime, Vary, VaryValues, Url, tags);
    }

    /// <summary>The headers this entry would be stored with after a 304 carrying <paramref name="notModified"/>, for working out its new lifetime.</summary>
    public IHeaderDictionary MergedHeaders(IHeaderDictionary notModified)
    {
        ArgumentNullException.ThrowIfNull(notModified);
        IHeaderDictionary merged = new HeaderDictionary();
        foreach (var (name, values) in Headers)
        {
            merged[name] = values;
        }

        foreach (var (name, values) in Storable(notModified).Where(h => !KeptOnUpdate.Contains(h.Key)))
        {
            merged[name] = values;
        }

        // The 304's Age (if any) is the one that applies to the refreshed entry.
        merged.Age = notModified.Age;
        return merged;
    }

    private static ProxyCachedResponse Timed(int status, IReadOnlyList<KeyValuePair<string, string[]>> headers, ReadOnlyMemory<byte> body, long now,
        ProxyCacheLifetime lifetime, IReadOnlyList<string> vary, string varyValues, string url, IReadOnlyList<string> tags)
    {
        var expires = now + (long)lifetime.Fresh.TotalMilliseconds;
        return new ProxyCachedResponse
        {
            StatusCode = status, StoredAtUnixMs = now, ExpiresAtUnixMs = expires,
            StaleWhileRevalidateUntilUnixMs = expires + (long)lifetime.WhileRevalidate.TotalMilliseconds,
            StaleIfErrorUntilUnixMs = expires + (long)lifetime.IfError.TotalMilliseconds,
            MustRevalidate = lifetime.MustRevalidate, Headers = headers, Body = body, Vary = vary, VaryValues = varyValues, Url = url, Tags = tags,
        };
    }

    private static List<KeyValuePair<string, string[]>> Storable(IHeaderDictionary headers) =>
        headers.Where(h => !NotStored.Contains(h.Key))
            .Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.Select(v => v ?? string.Empty).ToArray()))
            .ToList();

    public byte[] Serialize()
    {
        using var stream = new MemoryStream(Body.Length + 256);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            writer.Write(StatusCode);
            writer.Write(StoredAtUnixMs);
            writer.Write(ExpiresAtUnixMs);
            writer.Write(StaleWhileRevalidateUntilUnixMs);
            writer.Write(StaleIfErrorUntilUnixMs);
            writer.Write(MustRevalidate);
            writer.Write(Url);
            WriteStrings(writer, Tags);
            WriteStrings(writer, Vary);
            writer.Write(VaryValues);
            writer.Write(Headers.Count);
            foreach (var (name, values) in Headers)
            {
                writer.Write(name);
                WriteStrings(writer, values);
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
            var whileRevalidate = reader.ReadInt64();
            var ifError = reader.ReadInt64();
            var mustRevalidate = reader.ReadBoolean();
            var url = reader.ReadString();
            var tags = ReadStrings(reader);
            var vary = ReadStrings(reader);
            var varyValues = reader.ReadString();
            var count = reader.ReadInt32();
            if (count < 0 || count > data.Length)
            {
                return null;
            }

            var headers = new List<KeyValuePair<string, string[]>>(count);
            for (; count > 0; count--)
            {
                var name = reader.ReadString();
                headers.Add(new(name, ReadStrings(reader)));
            }

            var length = reader.ReadInt32();
            var offset = (int)reader.BaseStream.Position;
            if (length < 0 || offset + length != data.Length)
            {
                return null;
            }

            return new ProxyCachedResponse
            {
                StatusCode = status, StoredAtUnixMs = storedAt, ExpiresAtUnixMs = expiresAt, StaleWhileRevalidateUntilUnixMs = whileRevalidate,
                StaleIfErrorUntilUnixMs = ifError, MustRevalidate = mustRevalidate, Url = url, Tags = tags, Vary = vary, VaryValues = varyValues,
                Headers = headers, Body = data.AsMemory(offset, length),
            };
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    private static void WriteStrings(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static string[] ReadStrings(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length)
        {
            throw new InvalidDataException("bad count");
        }

        var values = new string[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadString();
        }

        return values;
    }
}

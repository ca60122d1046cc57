using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CloudProxy.Core.Envelopes;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.WebUtilities;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>
/// Builds the request to one upstream from an envelope, applying that upstream's key and project mapping
/// everywhere they appear: the URL path (<c>/api/{project}/…</c>), <c>?sentry_key=</c>, <c>X-Sentry-Auth</c>
/// or <c>Authorization</c>, and the envelope header's <c>dsn</c> and <c>trace.public_key</c>. With <c>compress</c> the body goes gzip-compressed
/// (<c>Content-Encoding: gzip</c>), which Sentry (Relay's request decompression layer) decodes on every endpoint.
/// </summary>
internal static class SentryRequestBuilder
{
    public static HttpRequestMessage Build(SentryUpstream upstream, Envelope envelope, bool compress = false, Action<long, long>? sent = null)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(envelope);
        var headers = envelope.Headers;
        var key = envelope.Key ?? string.Empty;
        var mappedKey = key.Length == 0 ? key : upstream.MapKey(key);
        var path = MapPath(headers.GetValueOrDefault(SentryEnvelopeHeaders.Path) ?? "/", upstream);
        var query = MapQuery(headers.GetValueOrDefault(SentryEnvelopeHeaders.Query), key, mappedKey);
        var request = new HttpRequestMessage(HttpMethod.Post, Combine(upstream.BaseUri, path, query));

        var payload = envelope.Payload;
        if (envelope.Kind == SentryEnvelopeHeaders.EnvelopeKind)
        {
            payload = MapEnvelopeHeader(payload, upstream);
        }

        var content = new SentryBodyContent(compress ? SentryBodyContent.Gzip(payload.Span) : payload, payload.Length, sent);
        if (compress)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        if (headers.TryGetValue(SentryEnvelopeHeaders.ContentType, out var contentType) && MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            content.Headers.ContentType = media;
        }

        request.Content = content;
        if (headers.TryGetValue(SentryEnvelopeHeaders.AuthValue, out var authValue))
        {
            var source = SentryAuthReader.SourceOf(headers.GetValueOrDefault(SentryEnvelopeHeaders.AuthSource));
            switch (source)
            {
                case SentryAuthSource.XSentryAuth:
                    request.Headers.TryAddWithoutValidation("X-Sentry-Auth", ReplaceKey(authValue, key, mappedKey));
                    break;
                case SentryAuthSource.AuthorizationSentry:
                    request.Headers.TryAddWithoutValidation("Authorization", ReplaceKey(authValue, key, mappedKey));
                    break;
                case SentryAuthSource.AuthorizationBasic:
                    request.Headers.TryAddWithoutValidation("Authorization", MapBasic(authValue, key, mappedKey));
                    break;
            }
        }

        Copy(request, headers, SentryEnvelopeHeaders.UserAgent, "User-Agent");
        Copy(request, headers, SentryEnvelopeHeaders.ForwardedFor, "X-Forwarded-For");
        Copy(request, headers, SentryEnvelopeHeaders.Origin, "Origin");
        Copy(request, headers, SentryEnvelopeHeaders.Referer, "Referer");
        return request;
    }

    /// <summary><c>/api/{project}/rest</c> → <c>/api/{mapped}/rest</c>; other paths unchanged.</summary>
    public static string MapPath(string path, SentryUpstream upstream)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(upstream);
        if (!path.StartsWith("/api/", StringComparison.Ordinal))
        {
            return path;
        }

        var end = path.IndexOf('/', 5);
        if (end < 0)
        {
            return path;
        }

        var project = path[5..end];
        return project.Length > 0 && project.All(char.IsAsciiDigit)
            ? string.Concat("/api/", upstream.MapProject(project), path.AsSpan(end))
            : path;
    }

    public static string MapQuery(string? query, string key, string mappedKey)
    {
        if (string.IsNullOrEmpty(query) || string.Equals(key, mappedKey, StringComparison.Ordinal))
        {
            return query ?? string.Empty;
        }

        var builder = new StringBuilder();
        foreach (var pair in QueryHelpers.ParseQuery(query))
        {
            foreach (var value in pair.Value)
            {
                var v = pair.Key == "sentry_key" && string.Equals(value, key, StringComparison.OrdinalIgnoreCase) ? mappedKey : value;
                builder.Append(builder.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(pair.Key)).Append('=').Append(Uri.EscapeDataString(v ?? string.Empty));
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Rewrites the keys in the envelope header line when the mapping changes them: <c>dsn</c> (key and project
    /// id; Relay refuses an envelope whose dsn names another key or project than the request,
    /// <c>EnvelopeHeaders::complete</c>) and <c>trace.public_key</c> (the dynamic sampling context; Relay looks
    /// the trace's root project up by it, <c>Envelope::sampling_key</c>, getsentry/relay
    /// relay-server/src/envelope/mod.rs at a16d0a49c9973ac9cffec5f4071a265e10244326). Only those string values
    /// are replaced, every other byte of the envelope stays as it came; the same payload when nothing changes.
    /// </summary>
    public static ReadOnlyMemory<byte> MapEnvelopeHeader(ReadOnlyMemory<byte> payload, SentryUpstream upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (upstream.Keys.Count == 0 && upstream.Projects.Count == 0)
        {
            return payload;
        }

        var span = payload.Span;
        var newline = span.IndexOf((byte)'\n');
        var header = newline < 0 ? span : span[..newline];
        if (header.IndexOf("\"dsn\""u8) < 0 && header.IndexOf("\"public_key\""u8) < 0)
        {
            return payload;
        }

        List<(int Start, int Length, string Value)>? edits = null;
        try
        {
            var reader = new Utf8JsonReader(header);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return payload;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("dsn"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        var dsn = reader.GetString()!;
                        var mapped = SentryDsn.Rewrite(dsn, upstream.MapKey, upstream.MapProject);
                        if (mapped != dsn)
                        {
                            (edits ??= []).Add(((int)reader.TokenStartIndex, (int)(reader.BytesConsumed - reader.TokenStartIndex), mapped));
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("trace"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isKey = reader.ValueTextEquals("public_key"u8);
                        reader.Read();
                        if (isKey && reader.TokenType == JsonTokenType.String)
                        {
                            var key = reader.GetString()!;
                            var mapped = upstream.MapKey(key);
                            if (!string.Equals(mapped, key, StringComparison.Ordinal))
                            {
                                (edits ??= []).Add(((int)reader.TokenStartIndex, (int)(reader.BytesConsumed - reader.TokenStartIndex), mapped));
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // The ingress checked the header; an unreadable one is forwarded untouched.
            return payload;
        }

        if (edits is null)
        {
            return payload;
        }

        edits.Sort((x, y) => x.Start.CompareTo(y.Start));
        using var output = new MemoryStream(payload.Length + 64);
        var at = 0;
        foreach (var (start, length, value) in edits)
        {
            output.Write(span[at..start]);
            output.Write(JsonSerializer.SerializeToUtf8Bytes(value));
            at = start + length;
        }

        output.Write(span[at..]);
        return output.ToArray();
    }

    private static string ReplaceKey(string header, string key, string mappedKey) =>
        key.Length == 0 || string.Equals(key, mappedKey, StringComparison.Ordinal) ? header : header.Replace(key, mappedKey, StringComparison.OrdinalIgnoreCase);

    private static string MapBasic(string header, string key, string mappedKey)
    {
        if (string.Equals(key, mappedKey, StringComparison.Ordinal))
        {
            return header;
        }

        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        var rest = colon < 0 ? string.Empty : decoded[colon..];
        return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(mappedKey + rest));
    }

    private static Uri Combine(Uri baseUri, string path, string query)
    {
        var basePath = baseUri.AbsolutePath.TrimEnd('/');
        var builder = new UriBuilder(baseUri) { Path = basePath + path, Query = query.TrimStart('?') };
        return builder.Uri;
    }

    private static void Copy(HttpRequestMessage request, IReadOnlyDictionary<string, string> headers, string from, string to)
    {
        if (headers.TryGetValue(from, out var value))
        {
            request.Headers.TryAddWithoutValidation(to, value);
        }
    }
}

using System.Buffers.Text;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.Sentry.Protocol;

/// <summary>Where a request's public key came from; the envelope carries it so the forwarder answers in kind.</summary>
internal enum SentryAuthSource
{
    None = 0,
    XSentryAuth = 1,
    AuthorizationSentry = 2,
    AuthorizationBasic = 3,
    Query = 4,
    EnvelopeDsn = 5,
}

/// <summary>The public key of a request and where it was found.</summary>
internal readonly record struct SentryAuth(SentryAuthSource Source, string PublicKey, string? Client);

/// <summary>
/// Reads Sentry's auth sources as Relay does: <c>X-Sentry-Auth</c>, <c>Authorization: Sentry …</c> (both
/// <c>[Sentry ]key=value, …</c> with or without the <c>sentry_</c> prefix), <c>Authorization: Basic</c>
/// (<c>base64(key[:secret])</c>) and the <c>?sentry_key=</c> query. More than one of them is refused (Relay:
/// "multiple authorization payloads"). The envelope header's <c>dsn</c> is the fallback when none is given,
/// read by the caller from the envelope itself.
/// </summary>
internal static class SentryAuthReader
{
    public static SentryAuthSource SourceOf(string? name) => name switch
    {
        "x-sentry-auth" => SentryAuthSource.XSentryAuth,
        "authorization-sentry" => SentryAuthSource.AuthorizationSentry,
        "authorization-basic" => SentryAuthSource.AuthorizationBasic,
        "query" => SentryAuthSource.Query,
        "dsn" => SentryAuthSource.EnvelopeDsn,
        _ => SentryAuthSource.None,
    };

    public static string NameOf(SentryAuthSource source) => source switch
    {
        SentryAuthSource.XSentryAuth => "x-sentry-auth",
        SentryAuthSource.AuthorizationSentry => "authorization-sentry",
        SentryAuthSource.AuthorizationBasic => "authorization-basic",
        SentryAuthSource.Query => "query",
        SentryAuthSource.EnvelopeDsn => "dsn",
        _ => "none",
    };

    /// <summary>
    /// The one auth source of the request headers and query. Returns false with a reason for several sources
    /// or a malformed one; true with <see cref="SentryAuthSource.None"/> when there is none.
    /// </summary>
    public static bool TryRead(HttpRequest request, out SentryAuth auth, out string? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        auth = default;
        error = null;
        var found = 0;
        string? xSentry = request.Headers["X-Sentry-Auth"];
        if (!string.IsNullOrEmpty(xSentry))
        {
            found++;
            if (!TryParseFields(xSentry, out var key, out var client))
            {
                error = "X-Sentry-Auth has no sentry_key";
                return false;
            }

            auth = new SentryAuth(SentryAuthSource.XSentryAuth, key, client);
        }

        string? authorization = request.Headers.Authorization;
        if (!string.IsNullOrEmpty(authorization))
        {
            if (authorization.StartsWith("Sentry ", StringComparison.OrdinalIgnoreCase))
            {
                found++;
                if (!TryParseFields(authorization, out var key, out var client))
                {
                    error = "Authorization: Sentry has no sentry_key";
                    return false;
                }

                auth = new SentryAuth(SentryAuthSource.AuthorizationSentry, key, client);
            }
            else if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            {
                found++;
                if (!TryParseBasic(authorization.AsSpan(6).Trim(), out var key))
                {
                    error = "Authorization: Basic is not base64 of key[:secret]";
                    return false;
                }

                auth = new SentryAuth(SentryAuthSource.AuthorizationBasic, key, null);
            }
        }

        if (request.Query.TryGetValue("sentry_key", out var queryKey))
        {
            found++;
            if (queryKey.Count != 1 || string.IsNullOrEmpty(queryKey[0]))
            {
                error = "?sentry_key= must be given once, not empty";
                return false;
            }

            auth = new SentryAuth(SentryAuthSource.Query, queryKey[0]!, request.Query["sentry_client"]);
        }

        if (found > 1)
        {
            auth = default;
            error = "multiple authorization payloads: give exactly one of X-Sentry-Auth, Authorization, ?sentry_key= or the envelope dsn";
            return false;
        }

        return true;
    }

    /// <summary>A public key as Sentry issues them: 32 hex digits.</summary>
    public static bool IsValidKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses <c>[Sentry ]sentry_key=…, sentry_version=7, …</c>; keys may lack the <c>sentry_</c> prefix.</summary>
    public static bool TryParseFields(string header, out string key, out string? client)
    {
        ArgumentNullException.ThrowIfNull(header);
        key = string.Empty;
        client = null;
        var text = header.AsSpan().Trim();
        if (text.StartsWith("Sentry ", StringComparison.OrdinalIgnoreCase))
        {
            text = text[7..];
        }

        foreach (var range in text.Split(','))
        {
            var part = text[range].Trim();
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }

            var name = part[..eq].Trim();
            if (name.StartsWith("sentry_", StringComparison.OrdinalIgnoreCase))
            {
                name = name[7..];
            }

            var value = part[(eq + 1)..].Trim().Trim('"');
            if (name.Equals("key", StringComparison.OrdinalIgnoreCase))
            {
                key = value.ToString();
            }
            else if (name.Equals("client", StringComparison.OrdinalIgnoreCase))
            {
                client = value.ToString();
            }
        }

        return key.Length > 0;
    }

    private static bool TryParseBasic(ReadOnlySpan<char> encoded, out string key)
    {
        key = string.Empty;
        if (encoded.Length == 0 || encoded.Length > 1024)
        {
            return false;
        }

        Span<byte> ascii = stackalloc byte[encoded.Length];
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] > 127)
            {
                return false;
            }

            ascii[i] = (byte)encoded[i];
        }

        Span<byte> decoded = stackalloc byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
        if (Base64.DecodeFromUtf8(ascii, decoded, out _, out var written) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(decoded[..written]);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        key = colon < 0 ? text : text[..colon];
        return key.Length > 0;
    }
}

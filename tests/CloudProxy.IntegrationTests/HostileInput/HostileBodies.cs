using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>
/// Turns the corpus's templates and body descriptions into bytes: <c>{now}</c>, <c>{n}</c>, <c>{secret:N}</c>,
/// <c>{jwt:ALG:N[:variant]}</c> (signed by node's crypto, not by .NET), <c>{random:N}</c>, <c>{lines:N}</c>, the
/// rig's own values (<c>{upstream}</c>…); bodies compressed with any encoding and cut short, and bombs.
/// </summary>
internal static partial class HostileBodies
{
    private static readonly Dictionary<string, string> Tokens = new(StringComparer.Ordinal);

    /// <summary>A secret of exactly <paramref name="length"/> ASCII bytes, the same in every run.</summary>
    public static string Secret(int length)
    {
        const string alphabet = "hostile-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(alphabet[(i * 7 + length) % alphabet.Length]);
        }

        return text.ToString();
    }

    public static string Expand(string text, IReadOnlyDictionary<string, string> values, int sequence)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Placeholder().Replace(text, match =>
        {
            var name = match.Groups["name"].Value;
            var arg = match.Groups["arg"].Success ? match.Groups["arg"].Value : null;
            return name switch
            {
                "now" => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                "n" => sequence.ToString(CultureInfo.InvariantCulture),
                "secret" => Secret(int.Parse(arg!, CultureInfo.InvariantCulture)),
                "jwt" => Jwt(arg!),
                "random" => Random(int.Parse(arg!, CultureInfo.InvariantCulture)),
                "lines" => GraphiteLines(int.Parse(arg!, CultureInfo.InvariantCulture), sequence),
                _ when values.TryGetValue(name, out var value) => value,
                _ => throw new InvalidDataException($"unknown placeholder {match.Value}"),
            };
        });
    }

    public static byte[]? Body(JsonElement? body, IReadOnlyDictionary<string, string> values, int sequence)
    {
        if (body is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return Encoding.UTF8.GetBytes(Expand(element.GetString()!, values, sequence));
        }

        byte[] plain;
        if (element.TryGetProperty("base64", out var base64))
        {
            plain = Convert.FromBase64String(base64.GetString()!);
        }
        else if (element.TryGetProperty("text", out var text))
        {
            plain = Encoding.UTF8.GetBytes(Expand(text.GetString()!, values, sequence));
        }
        else if (element.TryGetProperty("generator", out var generator) && generator.GetString() is "zeros" or "bomb")
        {
            // A bomb: zeros compress about 1000:1 (gzip) to 10^6:1 (zstd, br).
            plain = new byte[element.GetProperty("bytes").GetInt64()];
        }
        else
        {
            throw new InvalidDataException($"body {element} has none of text, base64 or a known generator");
        }

        var bytes = element.TryGetProperty("encoding", out var encoding) ? Compress(plain, encoding.GetString()!) : plain;
        if (element.TryGetProperty("keep", out var keep))
        {
            bytes = bytes[..(int)(bytes.Length * keep.GetDouble())];
        }

        if (element.TryGetProperty("keepBytes", out var keepBytes))
        {
            bytes = bytes[..Math.Min(bytes.Length, keepBytes.GetInt32())];
        }

        if (element.TryGetProperty("cutBytes", out var cutBytes))
        {
            bytes = bytes[..^cutBytes.GetInt32()];
        }

        return bytes;
    }

    public static byte[] Compress(byte[] data, string encoding)
    {
        using var output = new MemoryStream();
        using (Stream compressor = encoding switch
        {
            "gzip" => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "deflate" => new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "zlib" => new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "br" => new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "zstd" => new ZstdSharp.CompressionStream(output, 19, leaveOpen: true),
            _ => throw new InvalidDataException($"unknown encoding {encoding}"),
        })
        {
            compressor.Write(data);
        }

        return output.ToArray();
    }

    private static string Random(int length)
    {
        var random = new Random(length);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append((char)('a' + random.Next(26)));
        }

        return text.ToString();
    }

    private static string GraphiteLines(int count, int sequence)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"hostile.batch{sequence}.m{i} {i} {now}\n");
        }

        return text.ToString();
    }

    /// <summary><c>ALG:LENGTH[:variant]</c> (variants: expired, notyet, other, tampered), <c>none</c> or <c>RS256</c>.</summary>
    private static string Jwt(string spec)
    {
        lock (Tokens)
        {
            if (Tokens.TryGetValue(spec, out var cached))
            {
                return cached;
            }
        }

        var parts = spec.Split(':');
        var alg = parts[0];
        var length = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 16;
        var variant = parts.Length > 2 ? parts[2] : null;
        var secret = variant == "other" ? Secret(length).ToUpperInvariant() + "!" : Secret(length);
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var payload = variant switch
        {
            "expired" => $"{{\"sub\":\"hostile\",\"exp\":{now - 60}}}",
            "notyet" => $"{{\"sub\":\"hostile\",\"nbf\":{now + 3600}}}",
            _ => $"{{\"sub\":\"hostile\",\"exp\":{now + 3600}}}",
        };
        var token = Node("jwt-sign.js", alg, Convert.ToHexString(Encoding.UTF8.GetBytes(secret)), payload, variant == "tampered" ? "tampered" : string.Empty);
        lock (Tokens)
        {
            Tokens[spec] = token;
        }

        return token;
    }

    private static string Node(string script, params string[] args)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(HostileRepository.Root, "tests", "node", script));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)
            ?? throw new InvalidOperationException("node is not installed: apt-get install -y nodejs");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} failed: {error}");
        }

        return output.Trim();
    }

    [GeneratedRegex(@"\{(?<name>[a-zA-Z]+)(:(?<arg>[A-Za-z0-9:]+))?\}")]
    private static partial Regex Placeholder();
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>JWTs built by hand (base64url + HMAC/RSA), independent of the library under test.</summary>
internal static class TestTokens
{
    public static string Hs(string alg, string secret, long? exp = null, long? nbf = null)
    {
        var signingInput = Part($"{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}") + "." + Part(Payload(exp, nbf));
        var key = Encoding.UTF8.GetBytes(secret);
        var data = Encoding.ASCII.GetBytes(signingInput);
        var signature = alg switch
        {
            "HS256" => HMACSHA256.HashData(key, data),
            "HS384" => HMACSHA384.HashData(key, data),
            "HS512" => HMACSHA512.HashData(key, data),
            _ => throw new ArgumentOutOfRangeException(nameof(alg)),
        };
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>An unsigned token (<c>alg: none</c>), the classic bypass attempt.</summary>
    public static string None() => Part("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + Part(Payload(null, null)) + ".";

    /// <summary>A token signed with RS256 by a key the proxy has never seen.</summary>
    public static string Rs256()
    {
        using var rsa = RSA.Create(2048);
        var signingInput = Part("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + Part(Payload(null, null));
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>An HS256 token with its payload changed after signing.</summary>
    public static string Tampered(string secret)
    {
        var parts = Hs("HS256", secret).Split('.');
        return parts[0] + "." + Part("{\"sub\":\"admin\"}") + "." + parts[2];
    }

    private static string Payload(long? exp, long? nbf)
    {
        var text = new StringBuilder("{\"sub\":\"browser\"");
        if (exp is { } e)
        {
            text.Append(CultureInfo.InvariantCulture, $",\"exp\":{e}");
        }

        if (nbf is { } n)
        {
            text.Append(CultureInfo.InvariantCulture, $",\"nbf\":{n}");
        }

        return text.Append('}').ToString();
    }

    private static string Part(string json) => Base64Url(Encoding.UTF8.GetBytes(json));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

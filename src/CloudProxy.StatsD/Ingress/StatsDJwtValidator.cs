using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CloudProxy.StatsD.Ingress;

internal enum StatsDJwtStatus
{
    Valid = 0,
    Missing = 1,
    Invalid = 2,
}

internal readonly record struct StatsDJwtResult(StatsDJwtStatus Status, string? Reason);

/// <summary>
/// statsd-http-proxy's authentication: an HMAC-signed JWT (HS256, HS384 or HS512 only) whose signature and
/// lifetime (<c>exp</c>, <c>nbf</c>, no leeway, as jwt-go) are checked; no issuer or audience. Validated
/// tokens are remembered (keyed by the whole token, so by its signature) until they expire.
/// </summary>
internal sealed class StatsDJwtValidator
{
    private const int CacheCapacity = 4096;

    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters? _parameters;
    private readonly byte[] _key = [];
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTime> _valid = new(StringComparer.Ordinal);

    public StatsDJwtValidator(IOptions<StatsDOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        var secret = options.Value.Ingress.JwtSecret;
        if (string.IsNullOrEmpty(secret))
        {
            return;
        }

        _key = Encoding.UTF8.GetBytes(secret);
        // As statsd-http-proxy (jwt-go's Parse with a key func): a token needs no issuer, audience or expiry;
        // one that carries an expiry is checked. Stricter checks would refuse the tokens its users already have.
#pragma warning disable CA5404
        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,

            // The signature is checked here, not by the library: it refuses HMAC keys shorter than the hash
            // (a 16- or 27-byte secret for every algorithm, 32 bytes for HS384/HS512), which jwt-go accepts.
            SignatureValidator = ValidateSignature,
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = ValidateLifetime,
        };
#pragma warning restore CA5404
    }

    /// <summary>False when no secret is set: every request is accepted, as statsd-http-proxy does.</summary>
    public bool Enabled => _parameters is not null;

    public async ValueTask<StatsDJwtResult> ValidateAsync(string? token)
    {
        if (_parameters is null)
        {
            return new StatsDJwtResult(StatsDJwtStatus.Valid, null);
        }

        if (string.IsNullOrEmpty(token))
        {
            return new StatsDJwtResult(StatsDJwtStatus.Missing, "Token not specified");
        }

        var now = _time.GetUtcNow().UtcDateTime;
        if (_valid.TryGetValue(token, out var expires))
        {
            if (now < expires)
            {
                return new StatsDJwtResult(StatsDJwtStatus.Valid, null);
            }

            _valid.TryRemove(token, out _);
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid)
        {
            return new StatsDJwtResult(StatsDJwtStatus.Invalid, "Error parsing token: " + Describe(result.Exception));
        }

        if (_valid.Count >= CacheCapacity)
        {
            _valid.Clear();
        }

        var validTo = result.SecurityToken.ValidTo;
        _valid[token] = validTo == DateTime.MinValue ? DateTime.MaxValue : validTo;
        return new StatsDJwtResult(StatsDJwtStatus.Valid, null);
    }

    /// <summary>
    /// jwt-go's HMAC check: the secret's bytes as the key, whatever their length (RFC 2104: HMAC itself hashes a
    /// key longer than the hash block and zero-fills a shorter one), HS256/384/512 only, compared in constant time.
    /// </summary>
    private JsonWebToken ValidateSignature(string token, TokenValidationParameters parameters)
    {
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException ex)
        {
            throw new SecurityTokenMalformedException("malformed token", ex);
        }

        var dot = token.LastIndexOf('.');
        var signed = Encoding.ASCII.GetBytes(token, 0, dot);
        byte[] signature;
        try
        {
            signature = Base64UrlEncoder.DecodeBytes(token[(dot + 1)..]);
        }
        catch (FormatException ex)
        {
            throw new SecurityTokenInvalidSignatureException("invalid signature", ex);
        }

        var expected = jwt.Alg switch
        {
            SecurityAlgorithms.HmacSha256 => HMACSHA256.HashData(_key, signed),
            SecurityAlgorithms.HmacSha384 => HMACSHA384.HashData(_key, signed),
            SecurityAlgorithms.HmacSha512 => HMACSHA512.HashData(_key, signed),
            _ => throw new SecurityTokenInvalidAlgorithmException("algorithm not allowed") { InvalidAlgorithm = jwt.Alg },
        };
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            throw new SecurityTokenInvalidSignatureException("invalid signature");
        }

        return jwt;
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException => "token expired or not yet valid",
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed (HS256, HS384 or HS512 only)",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "invalid signature",
        SecurityTokenMalformedException => "malformed token",
        _ => "invalid token",
    };

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return (expires is null || now < expires.Value) && (notBefore is null || now >= notBefore.Value);
    }
}

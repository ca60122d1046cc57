using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CloudProxy.StatsD.Ingress;

public enum StatsDJwtStatus
{
    Valid = 0,
    Missing = 1,
    Invalid = 2,
}

public readonly record struct StatsDJwtResult(StatsDJwtStatus Status, string? Reason);

/// <summary>
/// statsd-http-proxy's authentication: an HMAC-signed JWT (HS256, HS384 or HS512 only) whose signature and
/// lifetime (<c>exp</c>, <c>nbf</c>, no leeway, as jwt-go) are checked; no issuer or audience. Validated
/// tokens are remembered (keyed by the whole token, so by its signature) until they expire.
/// </summary>
public sealed class StatsDJwtValidator
{
    private const int CacheCapacity = 4096;

    private static readonly string[] Algorithms =
        [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512];

    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters? _parameters;
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

        _parameters = new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            IssuerSigningKey = new SymmetricSecurityKey(KeyBytes(secret)),
            ValidAlgorithms = Algorithms,
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = ValidateLifetime,
        };
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
    /// HMAC pads a key shorter than its block (64 bytes for SHA-256, 128 for SHA-384/512) with zeros, so a short
    /// secret padded to 64 bytes signs exactly as the secret itself. The padding lets the library accept the
    /// short secrets statsd-http-proxy users have (<c>--jwt-secret=somesecret</c>), which it refuses below 128 bits.
    /// </summary>
    private static byte[] KeyBytes(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        if (bytes.Length < 16)
        {
            Array.Resize(ref bytes, 64);
        }

        return bytes;
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

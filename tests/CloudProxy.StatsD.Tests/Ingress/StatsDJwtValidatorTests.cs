using CloudProxy.StatsD.Ingress;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

using CloudProxy.Tests.Common;

namespace CloudProxy.StatsD.Tests.Ingress;

public class StatsDJwtValidatorTests
{
    private const string Secret = "somesecret";
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    private StatsDJwtValidator Validator(string secret = Secret)
    {
        var options = new StatsDOptions();
        options.Ingress.JwtSecret = secret;
        return new StatsDJwtValidator(Options.Create(options), _time);
    }

    [Fact]
    public async Task Without_a_secret_every_request_is_accepted()
    {
        var validator = Validator(string.Empty);
        Assert.False(validator.Enabled);
        Assert.Equal(StatsDJwtStatus.Valid, (await validator.ValidateAsync(null)).Status);
    }

    [Fact]
    public async Task Missing_token_is_reported_as_missing()
    {
        Assert.Equal(StatsDJwtStatus.Missing, (await Validator().ValidateAsync(null)).Status);
        Assert.Equal(StatsDJwtStatus.Missing, (await Validator().ValidateAsync(string.Empty)).Status);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS384")]
    [InlineData("HS512")]
    public async Task Token_signed_with_the_secret_is_valid_for_every_HMAC_algorithm(string alg)
    {
        Assert.Equal(StatsDJwtStatus.Valid, (await Validator().ValidateAsync(TestTokens.Hs(alg, Secret))).Status);
    }

    // jwt-go takes any secret length; the library under the validator refuses keys shorter than the hash
    // (issue 12: 16 and 27 bytes refused every token, 32 bytes refused HS384/HS512). Signed here with .NET's
    // HMAC; the hostile-input corpus signs the same cases with node's crypto.
    public static TheoryData<string, int> SecretLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (var alg in new[] { "HS256", "HS384", "HS512" })
        {
            foreach (var length in new[] { 1, 10, 16, 27, 32, 48, 64, 100, 128, 129, 200 })
            {
                data.Add(alg, length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SecretLengths))]
    public async Task Secrets_of_any_length_work_for_every_HMAC_algorithm(string alg, int length)
    {
        var secret = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));
        Assert.Equal(StatsDJwtStatus.Valid, (await Validator(secret).ValidateAsync(TestTokens.Hs(alg, secret))).Status);
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator(secret + "x").ValidateAsync(TestTokens.Hs(alg, secret))).Status);
    }

    [Fact]
    public async Task Token_signed_with_another_secret_is_invalid()
    {
        var result = await Validator().ValidateAsync(TestTokens.Hs("HS256", "othersecret"));
        Assert.Equal(StatsDJwtStatus.Invalid, result.Status);
        Assert.Contains("signature", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_whose_payload_was_changed_is_invalid()
    {
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator().ValidateAsync(TestTokens.Tampered(Secret))).Status);
    }

    [Fact]
    public async Task Expired_token_is_invalid()
    {
        var token = TestTokens.Hs("HS256", Secret, exp: Now.AddSeconds(-1).ToUnixTimeSeconds());
        var result = await Validator().ValidateAsync(token);
        Assert.Equal(StatsDJwtStatus.Invalid, result.Status);
        Assert.Contains("expired", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_becomes_invalid_when_it_expires_even_after_it_was_accepted()
    {
        var validator = Validator();
        var token = TestTokens.Hs("HS256", Secret, exp: Now.AddMinutes(5).ToUnixTimeSeconds());
        Assert.Equal(StatsDJwtStatus.Valid, (await validator.ValidateAsync(token)).Status);
        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(StatsDJwtStatus.Invalid, (await validator.ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task Token_not_yet_valid_is_invalid()
    {
        var token = TestTokens.Hs("HS256", Secret, nbf: Now.AddMinutes(1).ToUnixTimeSeconds());
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator().ValidateAsync(token)).Status);
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_invalid()
    {
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator().ValidateAsync(TestTokens.None())).Status);
    }

    [Fact]
    public async Task RS256_token_is_invalid_because_only_HMAC_algorithms_are_allowed()
    {
        var result = await Validator().ValidateAsync(TestTokens.Rs256());
        Assert.Equal(StatsDJwtStatus.Invalid, result.Status);
        Assert.Contains("algorithm", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-token")]
    [InlineData("a.b.c")]
    [InlineData("....")]
    public async Task Garbage_is_invalid(string token)
    {
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator().ValidateAsync(token)).Status);
    }
}

using CloudProxy.StatsD.Ingress;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

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

    [Theory]
    [InlineData("HS256")]
    [InlineData("HS512")]
    public async Task Long_secrets_work_too(string alg)
    {
        var secret = new string('s', 100);
        Assert.Equal(StatsDJwtStatus.Valid, (await Validator(secret).ValidateAsync(TestTokens.Hs(alg, secret))).Status);
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
        Assert.Equal(StatsDJwtStatus.Invalid, (await Validator().ValidateAsync(TestTokens.Rs256())).Status);
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

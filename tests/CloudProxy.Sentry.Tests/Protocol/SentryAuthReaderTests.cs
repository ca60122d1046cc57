using System.Text;
using CloudProxy.Sentry.Protocol;
using Microsoft.AspNetCore.Http;

namespace CloudProxy.Sentry.Tests.Protocol;

public sealed class SentryAuthReaderTests
{
    private const string Key = "0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("Sentry sentry_version=7, sentry_client=raven-js/3.0, sentry_key=" + Key)]
    [InlineData("sentry_key=" + Key + ",sentry_version=7")]
    [InlineData("Sentry key=" + Key)]
    [InlineData("Sentry sentry_key=\"" + Key + "\", sentry_secret=s")]
    public void X_Sentry_Auth_is_read_with_or_without_prefixes(string header)
    {
        var request = Request(r => r.Headers["X-Sentry-Auth"] = header);

        Assert.True(SentryAuthReader.TryRead(request, out var auth, out var error), error);
        Assert.Equal(SentryAuthSource.XSentryAuth, auth.Source);
        Assert.Equal(Key, auth.PublicKey);
    }

    [Fact]
    public void Basic_authorization_carries_the_key_before_the_colon()
    {
        var request = Request(r => r.Headers.Authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Key + ":secret")));

        Assert.True(SentryAuthReader.TryRead(request, out var auth, out _));
        Assert.Equal(SentryAuthSource.AuthorizationBasic, auth.Source);
        Assert.Equal(Key, auth.PublicKey);
    }

    [Fact]
    public void A_bearer_token_is_not_a_Sentry_auth_source()
    {
        var request = Request(r => r.Headers.Authorization = "Bearer abc");

        Assert.True(SentryAuthReader.TryRead(request, out var auth, out _));
        Assert.Equal(SentryAuthSource.None, auth.Source);
    }

    [Fact]
    public void Header_and_query_together_are_refused_as_multiple()
    {
        var request = Request(r =>
        {
            r.Headers["X-Sentry-Auth"] = "Sentry sentry_key=" + Key;
            r.QueryString = new QueryString("?sentry_key=" + Key);
        });

        Assert.False(SentryAuthReader.TryRead(request, out _, out var error));
        Assert.StartsWith("multiple", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Basic !!!notbase64")]
    [InlineData("Sentry sentry_version=7")]
    public void Malformed_authorization_is_refused_with_a_reason(string header)
    {
        var request = Request(r => r.Headers.Authorization = header);

        Assert.False(SentryAuthReader.TryRead(request, out _, out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData(Key, true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", true)]
    [InlineData("0123456789abcdef", false)]
    [InlineData("0123456789abcdef0123456789abcdeg", false)]
    public void Public_keys_are_32_hex_digits(string key, bool valid) => Assert.Equal(valid, SentryAuthReader.IsValidKey(key));

    [Fact]
    public void A_dsn_gives_key_and_project_and_can_be_rewritten()
    {
        Assert.True(SentryDsn.TryParse($"https://{Key}:secret@o1.ingest.example.com:8443/prefix/42", out var dsn));
        Assert.Equal(Key, dsn.PublicKey);
        Assert.Equal("42", dsn.ProjectId);
        Assert.Equal(
            "https://" + new string('b', 32) + ":secret@o1.ingest.example.com:8443/prefix/202",
            SentryDsn.Rewrite($"https://{Key}:secret@o1.ingest.example.com:8443/prefix/42", _ => new string('b', 32), _ => "202"));
        Assert.False(SentryDsn.TryParse("https://o1.ingest.example.com/42", out _));
        Assert.False(SentryDsn.TryParse($"https://{Key}@host/not-a-number", out _));
    }

    private static HttpRequest Request(Action<HttpRequest> configure)
    {
        var context = new DefaultHttpContext();
        configure(context.Request);
        return context.Request;
    }
}

using CloudProxy.StatsD.Protocol;

namespace CloudProxy.StatsD.Tests.Protocol;

public class StatsDNamesTests
{
    public static TheoryData<string> InjectionKeys => new()
    {
        "a:1|c", "a|c", "a@0.1", "a#tag", "a\nb:1|c", "a\rb", "a\tb", "a\0b", "a\u007fb", "a\u0085b", "a\u2028b", "a\u2029b", "a\u001bb",
    };

    [Theory]
    [MemberData(nameof(InjectionKeys))]
    public void Key_with_a_character_that_could_inject_StatsD_syntax_is_refused(string key)
    {
        Assert.NotNull(StatsDNames.ValidateKey(key));
    }

    [Theory]
    [InlineData("a.b.c")]
    [InlineData("checkout-page_load.ms")]
    [InlineData("ünïcode.键")]
    [InlineData("emoji.😀")]
    public void Key_without_StatsD_syntax_is_accepted(string key)
    {
        Assert.Null(StatsDNames.ValidateKey(key));
    }

    // A space splits the line for statsite, Datadog's agent and Telegraf (issue 12): rt.a%20b must not become "rt.a b:1|c".
    [Theory]
    [InlineData("with space")]
    [InlineData("nbsp\u00a0key")]
    [InlineData("ideographic\u3000space")]
    public void Key_with_whitespace_is_refused(string key)
    {
        Assert.Contains("whitespace", StatsDNames.ValidateKey(key), StringComparison.Ordinal);
    }

    [Fact]
    public void Key_with_the_replacement_character_of_invalid_UTF8_is_refused()
    {
        Assert.Contains("U+FFFD", StatsDNames.ValidateKey("a\ufffdb"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rt.%ED%A0%80")]
    [InlineData("rt.%FF")]
    [InlineData("rt.%C0%AF")]
    public void Percent_escapes_that_are_not_UTF8_do_not_decode(string encoded)
    {
        Assert.Null(StatsDUrlDecoder.Decode(encoded, form: false, out var error));
        Assert.Contains("UTF-8", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Percent_escapes_decode_strictly_and_plus_is_a_space_only_in_forms()
    {
        Assert.Equal("a/b c+d", StatsDUrlDecoder.Decode("a%2Fb%20c+d", form: false, out _));
        Assert.Equal("a b", StatsDUrlDecoder.Decode("a+b", form: true, out _));
        Assert.Equal("100%zz", StatsDUrlDecoder.Decode("100%zz", form: false, out _));
    }

    [Fact]
    public void Empty_key_is_refused()
    {
        Assert.Equal("key is empty", StatsDNames.ValidateKey(string.Empty));
    }

    [Fact]
    public void Key_with_an_unpaired_surrogate_is_refused()
    {
        Assert.Contains("surrogate", StatsDNames.ValidateKey("a\ud800b"), StringComparison.Ordinal);
        Assert.Contains("surrogate", StatsDNames.ValidateKey("a\udc00"), StringComparison.Ordinal);
    }

    [Fact]
    public void Refusal_names_the_character_and_its_position()
    {
        Assert.Equal("key contains ':' at position 3, which would start another StatsD field", StatsDNames.ValidateKey("abc:1|c"));
        Assert.Equal("key contains control character U+000A at position 1", StatsDNames.ValidateKey("a\nb"));
    }

    // Expected values are what etsy statsd's sanitizeKeyName gives:
    // key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9\.]/g, '')
    [Theory]
    [InlineData("a.b.c", "a.b.c")]
    [InlineData("a b", "a_b")]
    [InlineData("a  \t\n b", "a_b")]
    [InlineData("path/to/page", "path-to-page")]
    [InlineData("a:1|c\nevil:1|c", "a1c_evil1c")]
    [InlineData("a@0.1#x", "a0.1x")]
    [InlineData("ünï", "n")]
    [InlineData(" é ", "__")]
    [InlineData("a\u00a0b\u3000c\ufeffd", "a_b_c_d")]
    [InlineData("Ab-_9.", "Ab-_9.")]
    public void Sanitize_matches_etsy_statsd(string input, string expected)
    {
        var buffer = new char[input.Length];
        var written = StatsDNames.Sanitize(input, buffer);
        Assert.Equal(expected, new string(buffer, 0, written));
    }

    [Fact]
    public void Sanitizing_a_tag_keeps_the_colon()
    {
        var buffer = new char[16];
        var written = StatsDNames.Sanitize("env:prod|x", buffer, keepColon: true);
        Assert.Equal("env:prodx", new string(buffer, 0, written));
    }

    [Theory]
    [InlineData("a|b")]
    [InlineData("a,b")]
    [InlineData("a#b")]
    [InlineData("a@b")]
    [InlineData("a\nb")]
    [InlineData("")]
    public void Tag_with_StatsD_syntax_is_refused(string tag)
    {
        Assert.NotNull(StatsDNames.ValidateTag(tag));
    }

    [Theory]
    [InlineData("env:prod")]
    [InlineData("beta")]
    [InlineData("url:http://x/y")]
    public void Plain_tag_is_accepted(string tag)
    {
        Assert.Null(StatsDNames.ValidateTag(tag));
    }

    [Fact]
    public void Tag_longer_than_the_limit_is_refused()
    {
        Assert.NotNull(StatsDNames.ValidateTag(new string('t', StatsDNames.MaxTagBytes + 1)));
        Assert.Null(StatsDNames.ValidateTag(new string('t', StatsDNames.MaxTagBytes)));
    }

    [Theory]
    [InlineData("bob@example.com", true)]
    [InlineData("#1", true)]
    [InlineData("a:b", false)]
    [InlineData("a|s", false)]
    [InlineData("a\nb", false)]
    [InlineData("", false)]
    public void Set_values_may_hold_anything_but_field_and_line_separators(string value, bool ok)
    {
        Assert.Equal(ok, StatsDNames.ValidateSetValue(value) is null);
    }
}

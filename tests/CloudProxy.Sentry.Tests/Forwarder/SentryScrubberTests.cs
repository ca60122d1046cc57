using System.Text;
using System.Text.Json.Nodes;
using CloudProxy.Core.Envelopes;
using CloudProxy.Sentry.Forwarder;
using CloudProxy.Sentry.Protocol;

namespace CloudProxy.Sentry.Tests.Forwarder;

public sealed class SentryScrubberTests
{
    private const string Header = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"sent_at\":\"2026-12-03T13:00:00.000Z\"}";

    private static SentryScrubber All(params string[] fields)
    {
        var options = new SentryScrubOptions { Enabled = true, IpAddresses = true, Cookies = true, AuthHeaders = true, Passwords = true, CreditCards = true };
        foreach (var f in fields)
        {
            options.Fields.Add(f);
        }

        return new SentryScrubber(options);
    }

    private static JsonObject ScrubEvent(SentryScrubber scrubber, string json, int[] counts) =>
        (JsonObject)JsonNode.Parse(scrubber.ScrubEvent(Encoding.UTF8.GetBytes(json), counts) ?? Encoding.UTF8.GetBytes(json))!;

    private static Envelope EnvelopeOf(string body, string kind = SentryEnvelopeHeaders.EnvelopeKind) => new()
    {
        Topic = "sentry",
        Kind = kind,
        Key = "abc",
        Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [SentryEnvelopeHeaders.ForwardedFor] = "203.0.113.7" },
        Payload = Encoding.UTF8.GetBytes(body),
    };

    [Fact]
    public void Ip_rule_replaces_user_ip_remote_addr_and_literals_in_strings()
    {
        var counts = new int[6];
        var e = ScrubEvent(All(), """
            {"user":{"id":"u1","ip_address":"{{auto}}"},"request":{"env":{"REMOTE_ADDR":"10.1.2.3"}},
             "extra":{"note":"from 192.168.0.12 and 2001:db8::1 via [fe80::1%eth0]","version":"1.2.3"},
             "breadcrumbs":{"values":[{"message":"GET http://10.0.0.5:8080/x"}]}}
            """, counts);
        Assert.Equal("[Filtered]", (string?)e["user"]!["ip_address"]);
        Assert.Equal("u1", (string?)e["user"]!["id"]);
        Assert.Equal("[Filtered]", (string?)e["request"]!["env"]!["REMOTE_ADDR"]);
        Assert.Equal("from [Filtered] and [Filtered] via [[Filtered]]", (string?)e["extra"]!["note"]);
        Assert.Equal("1.2.3", (string?)e["extra"]!["version"]);
        Assert.Equal("GET http://[Filtered]:8080/x", (string?)e["breadcrumbs"]!["values"]![0]!["message"]);
        Assert.Equal(6, counts[(int)SentryScrubRule.Ip]);
    }

    [Fact]
    public void Cookie_rule_replaces_cookie_values_and_cookie_headers_in_object_and_pair_forms()
    {
        var counts = new int[6];
        var scrubber = new SentryScrubber(new SentryScrubOptions { Enabled = true, Cookies = true });
        var e = ScrubEvent(scrubber, """
            {"request":{"cookies":{"session":"s3cr3t","theme":"dark"},"headers":{"Cookie":"session=s3cr3t","Accept":"*/*","Authorization":"Bearer x"}}}
            """, counts);
        Assert.Equal("[Filtered]", (string?)e["request"]!["cookies"]!["session"]);
        Assert.Equal("[Filtered]", (string?)e["request"]!["cookies"]!["theme"]);
        Assert.Equal("[Filtered]", (string?)e["request"]!["headers"]!["Cookie"]);
        Assert.Equal("*/*", (string?)e["request"]!["headers"]!["Accept"]);
        Assert.Equal("Bearer x", (string?)e["request"]!["headers"]!["Authorization"]);

        var pairs = ScrubEvent(scrubber, """{"request":{"cookies":"a=1; b=2","headers":[["set-cookie","a=1"],["Host","h"]]}}""", counts);
        Assert.Equal("[Filtered]", (string?)pairs["request"]!["cookies"]);
        Assert.Equal("[Filtered]", (string?)pairs["request"]!["headers"]![0]![1]);
        Assert.Equal("h", (string?)pairs["request"]!["headers"]![1]![1]);
        Assert.Equal(5, counts[(int)SentryScrubRule.Cookie]);
    }

    [Fact]
    public void Auth_header_rule_replaces_credential_headers_only()
    {
        var counts = new int[6];
        var scrubber = new SentryScrubber(new SentryScrubOptions { Enabled = true, AuthHeaders = true });
        var e = ScrubEvent(scrubber, """
            {"request":{"headers":{"authorization":"Bearer abc","Proxy-Authorization":"Basic eA==","X-Api-Key":"k1","User-Agent":"ua"}}}
            """, counts);
        var h = e["request"]!["headers"]!;
        Assert.Equal("[Filtered]", (string?)h["authorization"]);
        Assert.Equal("[Filtered]", (string?)h["Proxy-Authorization"]);
        Assert.Equal("[Filtered]", (string?)h["X-Api-Key"]);
        Assert.Equal("ua", (string?)h["User-Agent"]);
        Assert.Equal(3, counts[(int)SentryScrubRule.AuthHeader]);
    }

    [Fact]
    public void Password_rule_replaces_values_under_password_like_keys_at_any_depth()
    {
        var counts = new int[6];
        var scrubber = new SentryScrubber(new SentryScrubOptions { Enabled = true, Passwords = true });
        var e = ScrubEvent(scrubber, """
            {"extra":{"login":{"user":"ann","password":"hunter2","nested":[{"api_key":"k","passwd":"p","OTP":"123456","refresh_token":{"v":1}}]},"mysql_pwd":"m","count":3},
             "contexts":{"db":{"client_secret":"cs","name":"main"}},
             "breadcrumbs":[{"message":"sent Authorization: Bearer eyJhbGciOi.x","data":{"credentials":"c"}}],
             "event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}
            """, counts);
        var login = e["extra"]!["login"]!;
        Assert.Equal("ann", (string?)login["user"]);
        Assert.Equal("[Filtered]", (string?)login["password"]);
        Assert.Equal("[Filtered]", (string?)login["nested"]![0]!["api_key"]);
        Assert.Equal("[Filtered]", (string?)login["nested"]![0]!["passwd"]);
        Assert.Equal("[Filtered]", (string?)login["nested"]![0]!["OTP"]);
        Assert.Equal("[Filtered]", (string?)login["nested"]![0]!["refresh_token"]);
        Assert.Equal("[Filtered]", (string?)e["extra"]!["mysql_pwd"]);
        Assert.Equal(3, (int?)e["extra"]!["count"]);
        Assert.Equal("[Filtered]", (string?)e["contexts"]!["db"]!["client_secret"]);
        Assert.Equal("main", (string?)e["contexts"]!["db"]!["name"]);
        Assert.Equal("sent Authorization: Bearer [Filtered]", (string?)e["breadcrumbs"]![0]!["message"]);
        Assert.Equal("[Filtered]", (string?)e["breadcrumbs"]![0]!["data"]!["credentials"]);
        Assert.Equal("9ec79c33ec9942ab8353589fcb2e04dc", (string?)e["event_id"]);
        Assert.Equal(9, counts[(int)SentryScrubRule.Password]);
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("378282246310005", true)]
    [InlineData("6011111111111117", true)]
    [InlineData("4222222222222", true)]
    [InlineData("79927398713", true)]
    public void Luhn_checks_the_digit_sum(string digits, bool valid) => Assert.Equal(valid, SentryScrubber.Luhn(digits));

    [Fact]
    public void Card_rule_replaces_luhn_valid_13_to_19_digit_numbers_in_strings_and_numbers()
    {
        var counts = new int[6];
        var scrubber = new SentryScrubber(new SentryScrubOptions { Enabled = true, CreditCards = true });
        var e = ScrubEvent(scrubber, """
            {"breadcrumbs":{"values":[{"message":"paid with 4111 1111 1111 1111 today","data":{"card":"5555-5555-5555-4444","order":"4111111111111112","n":4012888888881881,"ts":1733230000123}}]},
             "extra":{"short":"79927398713"}}
            """, counts);
        var crumb = e["breadcrumbs"]!["values"]![0]!;
        Assert.Equal("paid with [Filtered] today", (string?)crumb["message"]);
        Assert.Equal("[Filtered]", (string?)crumb["data"]!["card"]);
        Assert.Equal("4111111111111112", (string?)crumb["data"]!["order"]);
        Assert.Equal("[Filtered]", (string?)crumb["data"]!["n"]);
        Assert.Equal(1733230000123, (long?)crumb["data"]!["ts"]);
        Assert.Equal("79927398713", (string?)e["extra"]!["short"]);
        Assert.Equal(3, counts[(int)SentryScrubRule.CreditCard]);
    }

    [Fact]
    public void Custom_fields_replace_values_under_matching_keys_case_insensitively()
    {
        var counts = new int[6];
        var scrubber = new SentryScrubber(new SentryScrubOptions { Enabled = true, Fields = { "ssn", "Customer_Email" } });
        var e = ScrubEvent(scrubber, """{"user":{"SSN":"078-05-1120","customer_email":"a@b.c","id":"7"},"extra":{"billing":{"user_ssn":"x"}}}""", counts);
        Assert.Equal("[Filtered]", (string?)e["user"]!["SSN"]);
        Assert.Equal("[Filtered]", (string?)e["user"]!["customer_email"]);
        Assert.Equal("7", (string?)e["user"]!["id"]);
        Assert.Equal("[Filtered]", (string?)e["extra"]!["billing"]!["user_ssn"]);
        Assert.Equal(3, counts[(int)SentryScrubRule.Field]);
    }

    [Fact]
    public void Envelope_item_length_is_rewritten_and_other_items_keep_their_bytes()
    {
        var evt = """{"extra":{"password":"hunter2-is-long"},"message":"x"}""";
        var attachment = "password=hunter2 4111111111111111 10.0.0.1";
        var session = """{"sid":"s","attrs":{"ip_address":"10.0.0.1"}}""";
        var body = Header + "\n"
            + "{\"type\":\"event\",\"length\":" + Encoding.UTF8.GetByteCount(evt) + "}\n" + evt + "\n"
            + "{\"type\":\"attachment\",\"length\":" + attachment.Length + ",\"filename\":\"a.txt\"}\n" + attachment + "\n"
            + "{\"type\":\"session\"}\n" + session + "\n";
        var counted = new List<(SentryScrubRule, int)>();
        var scrubbed = new SentryScrubber(All().Options(), (r, n) => counted.Add((r, n))).Scrub(EnvelopeOf(body));
        var text = Encoding.UTF8.GetString(scrubbed.Payload.Span);

        Assert.DoesNotContain("hunter2-is-long", text, StringComparison.Ordinal);
        Assert.True(SentryEnvelopeSplit.TryReadItems(scrubbed.Payload.Span, out _, out var items));
        Assert.Equal(3, items.Count);
        var lines = text.Split('\n');
        Assert.Equal(Header, lines[0]);
        var itemHeader = JsonNode.Parse(lines[1])!;
        Assert.Equal(Encoding.UTF8.GetByteCount(lines[2]), (int?)itemHeader["length"]);
        Assert.Equal(items[0].PayloadLength, (int?)itemHeader["length"]);
        Assert.Equal("[Filtered]", (string?)JsonNode.Parse(lines[2])!["extra"]!["password"]);

        // The attachment and the session keep every byte, values that look scrubbable included.
        var tail = body[(body.IndexOf("{\"type\":\"attachment\"", StringComparison.Ordinal))..];
        Assert.EndsWith(tail, text, StringComparison.Ordinal);
        Assert.Equal([(SentryScrubRule.Password, 1)], counted);
        Assert.False(scrubbed.Headers.ContainsKey(SentryEnvelopeHeaders.ForwardedFor));
    }

    [Fact]
    public void An_item_without_length_stays_on_one_line()
    {
        var evt = """{"type":"transaction","user":{"ip_address":"10.9.8.7"},"request":{"headers":{"Authorization":"Basic eA=="}}}""";
        var body = Header + "\n{\"type\":\"transaction\"}\n" + evt;
        var scrubbed = All().Scrub(EnvelopeOf(body));
        var text = Encoding.UTF8.GetString(scrubbed.Payload.Span);
        Assert.DoesNotContain("10.9.8.7", text, StringComparison.Ordinal);
        Assert.DoesNotContain("eA==", text, StringComparison.Ordinal);
        Assert.True(SentryEnvelopeSplit.TryReadItems(scrubbed.Payload.Span, out _, out var items));
        Assert.Single(items);
        Assert.Equal("{\"type\":\"transaction\"}", text.Split('\n')[1]);
    }

    [Fact]
    public void Store_bodies_are_scrubbed_and_security_reports_left_alone()
    {
        var store = All().Scrub(EnvelopeOf("""{"extra":{"secret":"s"}}""", SentryEnvelopeHeaders.StoreKind));
        Assert.Equal("""{"extra":{"secret":"[Filtered]"}}""", Encoding.UTF8.GetString(store.Payload.Span));

        var report = """{"csp-report":{"blocked-uri":"http://10.0.0.1/x","password":"p"}}""";
        var security = All().Scrub(EnvelopeOf(report, SentryEnvelopeHeaders.SecurityKind));
        Assert.Equal(report, Encoding.UTF8.GetString(security.Payload.Span));
    }

    [Fact]
    public void Off_by_default_and_nothing_matching_returns_the_same_envelope()
    {
        var evt = """{"extra":{"password":"p"},"user":{"ip_address":"10.0.0.1"}}""";
        var body = Header + "\n{\"type\":\"event\"}\n" + evt + "\n";
        var envelope = EnvelopeOf(body);
        Assert.Same(envelope, new SentryScrubber(new SentryScrubOptions()).Scrub(envelope));
        Assert.Same(envelope, new SentryScrubber(new SentryScrubOptions { Enabled = true }).Scrub(envelope));
        Assert.Same(envelope, new SentryScrubber(new SentryScrubOptions { Passwords = true }).Scrub(envelope));

        var clean = EnvelopeOf(Header + "\n{\"type\":\"event\"}\n{\"extra\":{\"k\":\"v\"}}\n");
        var passwordsOnly = new SentryScrubber(new SentryScrubOptions { Enabled = true, Passwords = true });
        Assert.Same(clean, passwordsOnly.Scrub(clean));
    }

    [Fact]
    public void Invalid_json_items_are_left_as_they_are()
    {
        var body = Header + "\n{\"type\":\"event\",\"length\":10}\n{\"password\n";
        var envelope = EnvelopeOf(body);
        var scrubbed = new SentryScrubber(new SentryScrubOptions { Enabled = true, Passwords = true }).Scrub(envelope);
        Assert.Equal(body, Encoding.UTF8.GetString(scrubbed.Payload.Span));
    }

    [Fact]
    public void A_key_given_twice_keeps_its_last_value_scrubbed()
    {
        var body = Header + "\n{\"type\":\"event\"}\n{\"extra\":{\"password\":\"a\",\"password\":\"b\"},\"user\":{}}\n";
        var scrubbed = All().Scrub(EnvelopeOf(body));
        Assert.True(SentryEnvelopeSplit.TryReadItems(scrubbed.Payload.Span, out _, out var items));
        Assert.Single(items);
        var text = Encoding.UTF8.GetString(scrubbed.Payload.Span);
        Assert.Contains("{\"extra\":{\"password\":\"[Filtered]\"},\"user\":{}}", text, StringComparison.Ordinal);
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CloudProxy.Core.Envelopes;
using CloudProxy.Sentry.Protocol;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>A scrubbing rule; the <c>rule</c> label of <c>cloudproxy_sentry_scrubbed_values_total</c>.</summary>
internal enum SentryScrubRule
{
    Ip = 0,
    Cookie = 1,
    AuthHeader = 2,
    Password = 3,
    CreditCard = 4,
    Field = 5,
}

/// <summary>
/// Opt-in data scrubbing before an envelope leaves the proxy (<c>CloudProxy:Sentry:Scrub</c>), after Relay's
/// default data scrubbing rules, which Relay in proxy mode does not apply (getsentry/relay#243): values are
/// replaced by <c>[Filtered]</c>. Only <c>event</c> and <c>transaction</c> items (and store bodies) are read, in
/// their <c>request</c>, <c>user</c>, <c>extra</c>, <c>contexts</c>, <c>tags</c>, <c>breadcrumbs</c>,
/// <c>message</c>, <c>logentry</c> and <c>spans</c>; every other item keeps its bytes exactly. A changed item
/// gets its header's <c>length</c> rewritten so the framing stays valid. The key patterns are Relay's
/// <c>PASSWORD_KEY_REGEX</c> and <c>TOKEN_KEY_REGEX</c> (relay-pii/src/regexes.rs at
/// 0e8be5e016e1ba8ef0e9349ccaab1929f869ab58), applied to keys only; the IPv4 pattern is Relay's
/// <c>IPV4_REGEX</c>; an IPv6 literal is what <see cref="IPAddress.TryParse(string, out IPAddress)"/> reads.
/// </summary>
internal sealed partial class SentryScrubber
{
    public const string Filtered = "[Filtered]";

    private static readonly string[] Sections = ["request", "user", "extra", "contexts", "tags", "breadcrumbs", "message", "logentry", "spans"];

    private static readonly HashSet<string> AuthHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "proxy-authorization", "x-api-key", "api-key", "apikey", "x-auth-token", "x-access-token",
        "x-csrf-token", "x-xsrf-token", "x-amz-security-token", "x-goog-api-key", "x-sentry-auth", "www-authenticate",
    };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly SentryScrubOptions _options;
    private readonly string[] _fields;
    private readonly Action<SentryScrubRule, int>? _counted;

    public SentryScrubber(SentryScrubOptions options, Action<SentryScrubRule, int>? counted = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _fields = [.. options.Fields.Select(f => f.Trim()).Where(f => f.Length > 0)];
        _counted = counted;
        Active = options.Enabled && (options.IpAddresses || options.Cookies || options.AuthHeaders || options.Passwords || options.CreditCards || _fields.Length > 0);
    }

    internal SentryScrubOptions Options() => _options;

    /// <summary>False when scrubbing is off or no rule is on: envelopes pass untouched.</summary>
    public bool Active { get; }

    /// <summary>The envelope to send: the same instance when nothing was scrubbed.</summary>
    public Envelope Scrub(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (!Active)
        {
            return envelope;
        }

        var counts = new int[6];
        ReadOnlyMemory<byte> payload = envelope.Payload;
        if (envelope.Kind == SentryEnvelopeHeaders.EnvelopeKind)
        {
            payload = ScrubEnvelope(envelope.Payload.Span, counts) is { } changed ? changed : envelope.Payload;
        }
        else if (envelope.Kind == SentryEnvelopeHeaders.StoreKind)
        {
            payload = ScrubEvent(envelope.Payload.Span, counts) is { } changed ? changed : envelope.Payload;
        }

        var dropForwardedFor = _options.IpAddresses && envelope.Headers.ContainsKey(SentryEnvelopeHeaders.ForwardedFor);
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                _counted?.Invoke((SentryScrubRule)i, counts[i]);
            }
        }

        if (!dropForwardedFor && payload.Equals(envelope.Payload))
        {
            return envelope;
        }

        var headers = new Dictionary<string, string>(envelope.Headers, StringComparer.OrdinalIgnoreCase);
        if (dropForwardedFor)
        {
            // The client's address would reach the upstream in X-Forwarded-For (Relay infers user.ip_address from it).
            headers.Remove(SentryEnvelopeHeaders.ForwardedFor);
        }

        return new Envelope
        {
            Topic = envelope.Topic,
            Kind = envelope.Kind,
            Key = envelope.Key,
            ReceivedAt = envelope.ReceivedAt,
            TraceParent = envelope.TraceParent,
            TraceState = envelope.TraceState,
            Headers = headers,
            Payload = payload,
        };
    }

    /// <summary>The envelope with its event and transaction items scrubbed; null when none changed (or the framing does not read).</summary>
    internal byte[]? ScrubEnvelope(ReadOnlySpan<byte> body, int[] counts)
    {
        if (!SentryEnvelopeSplit.TryReadItems(body, out var headerEnd, out var items) || items.Count == 0)
        {
            return null;
        }

        List<(int Index, byte[] Header, byte[] Payload)>? changes = null;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var newline = body[item.Start..item.End].IndexOf((byte)'\n');
            var headerLine = newline < 0 ? body[item.Start..item.End] : body.Slice(item.Start, newline);
            JsonObject? header;
            try
            {
                header = JsonNode.Parse(headerLine) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }

            var type = header?["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            if (header is null || type is not ("event" or "transaction"))
            {
                continue;
            }

            var payloadStart = newline < 0 ? item.End : item.Start + newline + 1;
            var scrubbed = ScrubEvent(body.Slice(payloadStart, item.PayloadLength), counts);
            if (scrubbed is null)
            {
                continue;
            }

            if (header.ContainsKey("length"))
            {
                header["length"] = scrubbed.Length;
            }

            changes ??= [];
            changes.Add((i, Encoding.UTF8.GetBytes(header.ToJsonString(Compact)), scrubbed));
        }

        if (changes is null)
        {
            return null;
        }

        using var output = new MemoryStream(body.Length);
        output.Write(body[..headerEnd]);
        if (headerEnd > 0 && body[headerEnd - 1] != (byte)'\n')
        {
            output.WriteByte((byte)'\n');
        }

        var next = 0;
        for (var i = 0; i < items.Count; i++)
        {
            if (next < changes.Count && changes[next].Index == i)
            {
                output.Write(changes[next].Header);
                output.WriteByte((byte)'\n');
                output.Write(changes[next].Payload);
                output.WriteByte((byte)'\n');
                next++;
                continue;
            }

            var bytes = body[items[i].Start..items[i].End];
            output.Write(bytes);
            if (i < items.Count - 1 && bytes[^1] != (byte)'\n')
            {
                output.WriteByte((byte)'\n');
            }
        }

        return output.ToArray();
    }

    /// <summary>An event or transaction payload scrubbed, compact JSON; null when nothing matched or it is not a JSON object.</summary>
    internal byte[]? ScrubEvent(ReadOnlySpan<byte> json, int[] counts)
    {
        JsonObject? root;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            root = NodeOf(document.RootElement) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }

        if (root is null)
        {
            return null;
        }

        var before = counts.Sum();
        if (_options.IpAddresses)
        {
            ReplaceIp(root["user"] as JsonObject, "ip_address", counts);
            ReplaceIp((root["request"] as JsonObject)?["env"] as JsonObject, "REMOTE_ADDR", counts);
        }

        if (root["request"] is JsonObject request)
        {
            ScrubRequest(request, counts);
        }

        foreach (var section in Sections)
        {
            if (root[section] is not { } node)
            {
                continue;
            }

            if (Scrubbed(section, node, counts) is { } replacement)
            {
                root[section] = replacement;
            }
            else if (node is JsonValue value)
            {
                if (ScrubValue(value, counts) is { } text)
                {
                    root[section] = text;
                }
            }
            else
            {
                Walk(node, counts);
            }
        }

        return counts.Sum() == before ? null : Encoding.UTF8.GetBytes(root.ToJsonString(Compact));
    }

    /// <summary>
    /// A mutable copy of the element. A key given twice keeps its last value, as Relay's serde_json reading
    /// does (JsonNode.Parse would throw on the duplicate and leave the event unscrubbed).
    /// </summary>
    private static JsonNode? NodeOf(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var o = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    o[property.Name] = NodeOf(property.Value);
                }

                return o;
            case JsonValueKind.Array:
                var a = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    a.Add(NodeOf(item));
                }

                return a;
            case JsonValueKind.Null:
                return null;
            default:
                return JsonValue.Create(element.Clone());
        }
    }

    private static void ReplaceIp(JsonObject? parent, string key, int[] counts)
    {
        if (parent?[key] is JsonValue v && v.TryGetValue<string>(out var text) && text != Filtered)
        {
            // Also "{{auto}}", which would make Sentry fill in the client's address.
            parent[key] = Filtered;
            counts[(int)SentryScrubRule.Ip]++;
        }
    }

    private void ScrubRequest(JsonObject request, int[] counts)
    {
        if (_options.Cookies && request["cookies"] is { } cookies && !IsFiltered(cookies))
        {
            request["cookies"] = FilterValues(cookies, counts, SentryScrubRule.Cookie);
        }

        if (request["headers"] is JsonObject headers)
        {
            foreach (var name in headers.Select(p => p.Key).ToList())
            {
                if (HeaderRule(name) is { } rule && !IsFiltered(headers[name]))
                {
                    headers[name] = Filtered;
                    counts[(int)rule]++;
                }
            }
        }
        else if (request["headers"] is JsonArray pairs)
        {
            foreach (var pair in pairs.OfType<JsonArray>().Where(p => p.Count == 2))
            {
                if (pair[0] is JsonValue n && n.TryGetValue<string>(out var name) && HeaderRule(name) is { } rule && !IsFiltered(pair[1]))
                {
                    pair[1] = Filtered;
                    counts[(int)rule]++;
                }
            }
        }
    }

    private SentryScrubRule? HeaderRule(string name)
    {
        if (_options.Cookies && (name.Equals("cookie", StringComparison.OrdinalIgnoreCase) || name.Equals("set-cookie", StringComparison.OrdinalIgnoreCase)))
        {
            return SentryScrubRule.Cookie;
        }

        return _options.AuthHeaders && AuthHeaders.Contains(name) ? SentryScrubRule.AuthHeader : null;
    }

    /// <summary>Cookies as an object (each value), pairs (each second element) or a string (whole).</summary>
    private static JsonNode FilterValues(JsonNode node, int[] counts, SentryScrubRule rule)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (!IsFiltered(o[key]))
                    {
                        o[key] = Filtered;
                        counts[(int)rule]++;
                    }
                }

                return o;
            case JsonArray a:
                foreach (var pair in a.OfType<JsonArray>().Where(p => p.Count == 2 && !IsFiltered(p[1])))
                {
                    pair[1] = Filtered;
                    counts[(int)rule]++;
                }

                return a;
            default:
                counts[(int)rule]++;
                return Filtered;
        }
    }

    private static bool IsFiltered(JsonNode? node) => node is null || (node is JsonValue v && v.TryGetValue<string>(out var s) && s == Filtered);

    /// <summary>A replacement for the value under this key when a key rule matches it; null otherwise.</summary>
    private JsonNode? Scrubbed(string key, JsonNode? value, int[] counts)
    {
        if (value is null || IsFiltered(value))
        {
            return null;
        }

        SentryScrubRule? rule = null;
        if (_options.Passwords && (PasswordKey().IsMatch(key) || key.Contains("token", StringComparison.OrdinalIgnoreCase)))
        {
            rule = SentryScrubRule.Password;
        }
        else if (_fields.Any(f => key.Contains(f, StringComparison.OrdinalIgnoreCase)))
        {
            rule = SentryScrubRule.Field;
        }

        if (rule is not { } r)
        {
            return null;
        }

        counts[(int)r]++;
        return Filtered;
    }

    private void Walk(JsonNode node, int[] counts)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (o[key] is not { } child)
                    {
                        continue;
                    }

                    if (Scrubbed(key, child, counts) is { } replacement)
                    {
                        o[key] = replacement;
                    }
                    else if (child is JsonValue v)
                    {
                        if (ScrubValue(v, counts) is { } text)
                        {
                            o[key] = text;
                        }
                    }
                    else
                    {
                        Walk(child, counts);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v)
                    {
                        if (ScrubValue(v, counts) is { } text)
                        {
                            a[i] = text;
                        }
                    }
                    else if (a[i] is { } child)
                    {
                        Walk(child, counts);
                    }
                }

                break;
        }
    }

    /// <summary>The value with IP literals and card numbers replaced; null when unchanged.</summary>
    private string? ScrubValue(JsonValue value, int[] counts)
    {
        if (value.GetValueKind() == JsonValueKind.Number)
        {
            if (_options.CreditCards && value.ToJsonString() is { Length: >= 13 and <= 19 } digits && digits.All(char.IsAsciiDigit) && Luhn(digits))
            {
                counts[(int)SentryScrubRule.CreditCard]++;
                return Filtered;
            }

            return null;
        }

        if (!value.TryGetValue<string>(out var text) || text.Length < 2)
        {
            return null;
        }

        return ScrubText(text, counts);
    }

    /// <summary>Value rules on one string: IP literals, card numbers and (with the password rule) bearer tokens, each match replaced.</summary>
    internal string? ScrubText(string text, int[] counts)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(counts);
        var result = text;
        if (_options.CreditCards)
        {
            result = CardCandidate().Replace(result, m =>
            {
                var digits = new string([.. m.Value.Where(char.IsAsciiDigit)]);
                if (digits.Length is < 13 or > 19 || !Luhn(digits))
                {
                    return m.Value;
                }

                counts[(int)SentryScrubRule.CreditCard]++;
                return Filtered;
            });
        }

        if (_options.IpAddresses)
        {
            result = Ipv4().Replace(result, _ =>
            {
                counts[(int)SentryScrubRule.Ip]++;
                return Filtered;
            });
            result = Ipv6Candidate().Replace(result, m =>
            {
                if (m.Value.Count(c => c == ':') < 2 || !IPAddress.TryParse(m.Value, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                {
                    return m.Value;
                }

                counts[(int)SentryScrubRule.Ip]++;
                return Filtered;
            });
        }

        if (_options.Passwords)
        {
            result = Bearer().Replace(result, m =>
            {
                counts[(int)SentryScrubRule.Password]++;
                return m.Groups[1].Value + Filtered;
            });
        }

        return ReferenceEquals(result, text) || result == text ? null : result;
    }

    /// <summary>The Luhn checksum of a string of ASCII digits.</summary>
    internal static bool Luhn(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        var sum = 0;
        var doubled = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubled)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubled = !doubled;
        }

        return sum % 10 == 0;
    }

    internal static string Label(SentryScrubRule rule) => rule switch
    {
        SentryScrubRule.Ip => "ip",
        SentryScrubRule.Cookie => "cookie",
        SentryScrubRule.AuthHeader => "auth_header",
        SentryScrubRule.Password => "password",
        SentryScrubRule.CreditCard => "credit_card",
        _ => "field",
    };

    // Relay's PASSWORD_KEY_REGEX (relay-pii/src/regexes.rs), applied to keys.
    [GeneratedRegex(@"password|secret|passwd|api[-_]key|apikey|auth|credentials|mysql_pwd|privatekey|private[-_]key|token[^\s]*[:=]|^otp$|^two[-_]factor$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex PasswordKey();

    [GeneratedRegex(@"\b(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)(?:\.(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)){3}\b", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"(?<![0-9A-Za-z:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z:])", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Ipv6Candidate();

    [GeneratedRegex(@"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex CardCandidate();

    [GeneratedRegex(@"\b(Bearer\s+)[^\s""]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Bearer();
}

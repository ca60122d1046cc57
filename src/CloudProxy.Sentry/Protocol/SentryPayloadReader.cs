using System.Text.Json;

namespace CloudProxy.Sentry.Protocol;

/// <summary>What the ingress learns from a payload: its event id, envelope dsn and data categories.</summary>
internal readonly record struct SentryPayloadInfo(string? EventId, string? Dsn, SentryCategories Categories);

/// <summary>
/// Checks an envelope's framing (header line, then per item a header line with <c>type</c> and optional
/// <c>length</c>, then the payload) without copying, as Relay does before it accepts one; and reads the
/// event id of a store body. Errors are short reasons for the 400 answer.
/// </summary>
internal static class SentryPayloadReader
{
    private const int MaxItems = 1000;

    public static bool TryReadEnvelope(ReadOnlySpan<byte> body, long maxEventBytes, out SentryPayloadInfo info, out string? error, out bool tooLarge)
    {
        info = default;
        tooLarge = false;
        var newline = body.IndexOf((byte)'\n');
        var header = newline < 0 ? body : body[..newline];
        if (!TryReadHeader(header, out var eventId, out var dsn, out error))
        {
            return false;
        }

        var rest = newline < 0 ? [] : body[(newline + 1)..];
        var categories = SentryCategories.None;
        var items = 0;
        while (rest.Length > 0)
        {
            // Blank lines between items are tolerated, as Relay does.
            if (rest[0] == (byte)'\n' || (rest[0] == (byte)'\r' && rest.Length > 1 && rest[1] == (byte)'\n'))
            {
                rest = rest[(rest[0] == (byte)'\r' ? 2 : 1)..];
                continue;
            }

            if (++items > MaxItems)
            {
                error = $"malformed envelope: more than {MaxItems} items";
                return false;
            }

            newline = rest.IndexOf((byte)'\n');
            var itemHeader = newline < 0 ? rest : rest[..newline];
            if (!TryReadItemHeader(itemHeader, out var category, out var length, out error))
            {
                return false;
            }

            rest = newline < 0 ? [] : rest[(newline + 1)..];
            long payloadLength;
            if (length is { } declared)
            {
                if (declared < 0 || declared > rest.Length)
                {
                    error = $"malformed envelope: item {items} declares length {declared} but {rest.Length} bytes follow";
                    return false;
                }

                payloadLength = declared;
                rest = rest[(int)declared..];
                if (rest.Length > 0 && rest[0] == (byte)'\n')
                {
                    rest = rest[1..];
                }
            }
            else
            {
                newline = rest.IndexOf((byte)'\n');
                payloadLength = newline < 0 ? rest.Length : newline;
                rest = newline < 0 ? [] : rest[(newline + 1)..];
            }

            if (category is SentryCategories.Error or SentryCategories.Transaction or SentryCategories.Security && payloadLength > maxEventBytes)
            {
                tooLarge = true;
                error = $"envelope item {items} ({NameOf(category)}) is {payloadLength} bytes, more than the {maxEventBytes}-byte event limit";
                return false;
            }

            categories |= category;
        }

        info = new SentryPayloadInfo(eventId, dsn, categories);
        return true;
    }

    /// <summary>The top-level <c>event_id</c> of a store (event JSON) body; null when absent. False when not a JSON object.</summary>
    public static bool TryReadStoreEventId(ReadOnlySpan<byte> body, out string? eventId, out bool isTransaction, out string? error)
    {
        eventId = null;
        isTransaction = false;
        error = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "malformed event: the body is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("event_id"u8))
                {
                    reader.Read();
                    eventId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isTransaction = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("transaction"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "malformed event: trailing data after the JSON object";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"malformed event: {ex.Message}";
            return false;
        }

        if (eventId is not null && !IsEventId(eventId))
        {
            error = "malformed event: event_id is not a UUID";
            return false;
        }

        return true;
    }

    /// <summary>A UUID, hyphenated or as 32 hex digits (both are what SDKs send).</summary>
    public static bool IsEventId(string value) => Guid.TryParseExact(value, "N", out _) || Guid.TryParseExact(value, "D", out _);

    /// <summary>The event id in Sentry's reply form: 32 lowercase hex digits.</summary>
    public static string Normalize(string eventId) => Guid.TryParse(eventId, out var guid) ? guid.ToString("N") : eventId;

    private static bool TryReadHeader(ReadOnlySpan<byte> line, out string? eventId, out string? dsn, out string? error)
    {
        eventId = null;
        dsn = null;
        error = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "malformed envelope: the first line is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isEventId = reader.ValueTextEquals("event_id"u8);
                var isDsn = !isEventId && reader.ValueTextEquals("dsn"u8);
                reader.Read();
                if (isEventId && reader.TokenType == JsonTokenType.String)
                {
                    eventId = reader.GetString();
                }
                else if (isDsn && reader.TokenType == JsonTokenType.String)
                {
                    dsn = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "malformed envelope: trailing data after the header object";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"malformed envelope: the first line is not a JSON object ({ex.Message})";
            return false;
        }

        if (eventId is not null && !IsEventId(eventId))
        {
            error = "malformed envelope: event_id is not a UUID";
            return false;
        }

        return true;
    }

    private static bool TryReadItemHeader(ReadOnlySpan<byte> line, out SentryCategories category, out long? length, out string? error)
    {
        category = SentryCategories.None;
        length = null;
        error = null;
        var hasType = false;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "malformed envelope: an item header is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isLength = !isType && reader.ValueTextEquals("length"u8);
                reader.Read();
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    hasType = true;
                    category = SentryCategoryNames.FromItemType(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
                }
                else if (isLength && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var l))
                {
                    length = l;
                }
                else if (isLength)
                {
                    error = "malformed envelope: an item length is not an integer";
                    return false;
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "malformed envelope: trailing data after an item header";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"malformed envelope item header: {ex.Message}";
            return false;
        }

        if (!hasType)
        {
            error = "malformed envelope: an item header has no type";
            return false;
        }

        return true;
    }

    private static string NameOf(SentryCategories category) => category switch
    {
        SentryCategories.Transaction => "transaction",
        SentryCategories.Security => "security",
        _ => "event",
    };
}

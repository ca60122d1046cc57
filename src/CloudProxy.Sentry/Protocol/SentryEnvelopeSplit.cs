using System.Text.Json;

namespace CloudProxy.Sentry.Protocol;

/// <summary>One item of an envelope: its bytes (item header line, payload and the newline after it) and how it is rate limited.</summary>
internal readonly record struct SentryEnvelopeItem(int Start, int End, SentryCategories Category, bool CreatesEvent, bool RequiresEvent, int PayloadLength);

/// <summary>An envelope cut in two: the items that may go now and those a rate limit holds back, each behind the same header line.</summary>
internal sealed record SentryEnvelopeParts(byte[]? Kept, SentryCategories KeptCategories, byte[] Held, SentryCategories HeldCategories, int HeldItems);

/// <summary>
/// Splits an envelope by item, as Relay's <c>Enforcement::retain_item</c> does when a rate limit covers some
/// of its categories (relay-server/src/utils/rate_limits.rs): the items of a limited category, and when the
/// event itself is limited the items that require it (attachments, user reports, profiles, replay events), are
/// held; the others go. Relay drops what it holds and reports an outcome; this proxy keeps it until the limit
/// ends. Items keep their bytes exactly; only blank lines between items are left out.
/// </summary>
internal static class SentryEnvelopeSplit
{
    /// <summary>The header line's end (after its newline) and the items; false when the framing does not read.</summary>
    public static bool TryReadItems(ReadOnlySpan<byte> body, out int headerEnd, out List<SentryEnvelopeItem> items)
    {
        items = [];
        var newline = body.IndexOf((byte)'\n');
        headerEnd = newline < 0 ? body.Length : newline + 1;
        var at = headerEnd;
        while (at < body.Length)
        {
            if (body[at] == (byte)'\n' || (body[at] == (byte)'\r' && at + 1 < body.Length && body[at + 1] == (byte)'\n'))
            {
                at += body[at] == (byte)'\r' ? 2 : 1;
                continue;
            }

            var start = at;
            newline = body[at..].IndexOf((byte)'\n');
            var line = newline < 0 ? body[at..] : body.Slice(at, newline);
            if (!TryReadItemHeader(line, out var type, out var length))
            {
                return false;
            }

            at = newline < 0 ? body.Length : at + newline + 1;
            int payloadLength;
            if (length is { } declared)
            {
                if (declared < 0 || declared > body.Length - at)
                {
                    return false;
                }

                payloadLength = (int)declared;
                at += (int)declared;
                if (at < body.Length && body[at] == (byte)'\n')
                {
                    at++;
                }
            }
            else
            {
                newline = body[at..].IndexOf((byte)'\n');
                payloadLength = newline < 0 ? body.Length - at : newline;
                at = newline < 0 ? body.Length : at + newline + 1;
            }

            items.Add(new SentryEnvelopeItem(start, at, SentryCategoryNames.FromItemType(type), SentryCategoryNames.CreatesEvent(type), SentryCategoryNames.RequiresEvent(type), payloadLength));
        }

        return true;
    }

    /// <summary>
    /// Null when nothing is held (send the envelope as it is). Otherwise the parts; <see cref="SentryEnvelopeParts.Kept"/>
    /// is null when every item is held.
    /// </summary>
    public static SentryEnvelopeParts? Split(ReadOnlySpan<byte> body, Func<SentryCategories, bool> limited)
    {
        ArgumentNullException.ThrowIfNull(limited);
        if (!TryReadItems(body, out var headerEnd, out var items) || items.Count == 0)
        {
            return null;
        }

        var held = new bool[items.Count];
        var any = false;
        var eventHeld = false;
        for (var i = 0; i < items.Count; i++)
        {
            var category = items[i].Category;
            if (category != SentryCategories.Internal && limited(category))
            {
                held[i] = any = true;
                eventHeld |= items[i].CreatesEvent;
            }
        }

        if (!any)
        {
            return null;
        }

        if (eventHeld)
        {
            for (var i = 0; i < items.Count; i++)
            {
                held[i] |= items[i].RequiresEvent;
            }
        }

        var header = body[..headerEnd];
        using var kept = new MemoryStream(body.Length);
        using var hold = new MemoryStream(body.Length);
        kept.Write(header);
        hold.Write(header);
        if (header.Length > 0 && header[^1] != (byte)'\n')
        {
            kept.WriteByte((byte)'\n');
            hold.WriteByte((byte)'\n');
        }

        var keptCategories = SentryCategories.None;
        var heldCategories = SentryCategories.None;
        var keptItems = 0;
        var heldItems = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var bytes = body[items[i].Start..items[i].End];
            var target = held[i] ? hold : kept;
            if (held[i])
            {
                heldCategories |= items[i].Category;
                heldItems++;
            }
            else
            {
                keptCategories |= items[i].Category;
                keptItems++;
            }

            target.Write(bytes);
            if (bytes[^1] != (byte)'\n')
            {
                // The last item may end without a newline; another may follow it in its new envelope.
                target.WriteByte((byte)'\n');
            }
        }

        return new SentryEnvelopeParts(keptItems == 0 ? null : kept.ToArray(), keptCategories, hold.ToArray(), heldCategories, heldItems);
    }

    private static bool TryReadItemHeader(ReadOnlySpan<byte> line, out byte[] type, out long? length)
    {
        type = [];
        length = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isLength = !isType && reader.ValueTextEquals("length"u8);
                reader.Read();
                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    type = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray();
                }
                else if (isLength && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var l))
                {
                    length = l;
                }
                else
                {
                    reader.Skip();
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;

namespace CloudProxy.StatsD.Protocol;

/// <summary>
/// Percent-decoding that refuses what the framework lets through: ASP.NET Core's path, query and form
/// decoders leave an escape that is not valid UTF-8 (<c>%ED%A0%80</c>, a lone surrogate; <c>%FF</c>;
/// <c>%C0%AF</c>, an overlong '/') in the text as it was, so a key or tag would carry it into a StatsD line.
/// Here the escapes are decoded to bytes and those bytes must be UTF-8.
/// </summary>
internal static class StatsDUrlDecoder
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes <paramref name="encoded"/> (with <c>+</c> as a space when <paramref name="form"/>); null and a reason when the bytes are not UTF-8.</summary>
    public static string? Decode(ReadOnlySpan<char> encoded, bool form, out string? error)
    {
        error = null;
        if (encoded.IndexOfAny('%', '+') < 0)
        {
            return encoded.ToString();
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Strict.GetMaxByteCount(encoded.Length));
        try
        {
            var written = 0;
            for (var i = 0; i < encoded.Length; i++)
            {
                var c = encoded[i];
                if (c == '%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
                {
                    buffer[written++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                    i += 2;
                }
                else if (c == '+' && form)
                {
                    buffer[written++] = (byte)' ';
                }
                else
                {
                    // An escape that is not one ("%zz", a lone '%') stays as written, as browsers and the framework do.
                    written += Strict.GetBytes(encoded.Slice(i, char.IsHighSurrogate(c) && i + 1 < encoded.Length ? 2 : 1), buffer.AsSpan(written));
                    if (char.IsHighSurrogate(c) && i + 1 < encoded.Length)
                    {
                        i++;
                    }
                }
            }

            try
            {
                return Strict.GetString(buffer, 0, written);
            }
            catch (DecoderFallbackException ex)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"is not valid UTF-8 (bytes {Convert.ToHexString(ex.BytesUnknown ?? [])} at byte {ex.Index})");
                return null;
            }
        }
        catch (EncoderFallbackException)
        {
            error = "holds an unpaired surrogate";
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// An <c>application/x-www-form-urlencoded</c> string (a query without its <c>?</c>, or a form body): each
    /// pair decoded strictly. Returns null, or the name of the first parameter that is not UTF-8 and why.
    /// </summary>
    public static (string Name, string Error)? ParseForm(ReadOnlySpan<char> encoded, Action<string, string> take)
    {
        ArgumentNullException.ThrowIfNull(take);
        foreach (var range in encoded.Split('&'))
        {
            var pair = encoded[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            var eq = pair.IndexOf('=');
            var rawName = eq < 0 ? pair : pair[..eq];
            var rawValue = eq < 0 ? [] : pair[(eq + 1)..];
            var name = Decode(rawName, form: true, out var nameError);
            if (name is null)
            {
                return (rawName.ToString(), "parameter name " + nameError);
            }

            var value = Decode(rawValue, form: true, out var valueError);
            if (value is null)
            {
                return (name, $"parameter '{name}' {valueError}");
            }

            take(name, value);
        }

        return null;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

using System.Text.RegularExpressions;

namespace CloudProxy.Core.Options;

/// <summary>
/// Takes credentials out of text that echoes a setting (a start-up validation error, a log line): the user
/// information of every URL (<c>https://user:password@host</c> → <c>https://***@host</c>; a bare user part is
/// often a token or a Sentry key, so it goes too) and <c>password=</c> / <c>pwd=</c> in connection strings
/// (StackExchange.Redis <c>host:6379,password=…</c>).
/// </summary>
public static partial class SecretRedaction
{
    public const string Mask = "***";

    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        text = UserInfo().Replace(text, m => m.Groups["scheme"].Value + Mask + "@");
        return Password().Replace(text, m => m.Groups["name"].Value + "=" + Mask);
    }

    [GeneratedRegex(@"(?<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^\s/?#@'""]+@")]
    private static partial Regex UserInfo();

    [GeneratedRegex(@"(?<name>\b(?:password|pwd|passwd)\s*)=[^,;\s'""]*", RegexOptions.IgnoreCase)]
    private static partial Regex Password();
}

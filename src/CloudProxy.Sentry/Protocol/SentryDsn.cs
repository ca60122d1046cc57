namespace CloudProxy.Sentry.Protocol;

/// <summary>A DSN, <c>https://PUBLIC_KEY[:SECRET]@HOST[:PORT]/[PATH/]PROJECT_ID</c>.</summary>
internal readonly record struct SentryDsn(string PublicKey, string ProjectId)
{
    public static bool TryParse(string? text, out SentryDsn dsn)
    {
        dsn = default;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        var user = uri.UserInfo;
        var colon = user.IndexOf(':', StringComparison.Ordinal);
        var key = Uri.UnescapeDataString(colon < 0 ? user : user[..colon]);
        var path = uri.AbsolutePath.TrimEnd('/');
        var project = path[(path.LastIndexOf('/') + 1)..];
        if (key.Length == 0 || project.Length == 0 || !project.All(char.IsAsciiDigit))
        {
            return false;
        }

        dsn = new SentryDsn(key, project);
        return true;
    }

    /// <summary>The same DSN with its key and project id replaced; the text unchanged when it does not parse.</summary>
    public static string Rewrite(string text, Func<string, string> mapKey, Func<string, string> mapProject)
    {
        ArgumentNullException.ThrowIfNull(mapKey);
        ArgumentNullException.ThrowIfNull(mapProject);
        if (!TryParse(text, out var dsn) || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return text;
        }

        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        var secret = colon < 0 ? string.Empty : uri.UserInfo[colon..];
        var path = uri.AbsolutePath.TrimEnd('/');
        var prefix = path[..(path.LastIndexOf('/') + 1)];
        var port = uri.IsDefaultPort ? string.Empty : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{uri.Scheme}://{mapKey(dsn.PublicKey)}{secret}@{uri.Host}{port}{prefix}{mapProject(dsn.ProjectId)}";
    }
}

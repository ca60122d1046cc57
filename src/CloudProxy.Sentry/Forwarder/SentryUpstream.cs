using System.Globalization;using CloudProxy.Core.Options;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>One upstream Sentry as the forwarder uses it: where, how keys and projects map, and its client name.</summary>
internal sealed class SentryUpstream
{
    public SentryUpstream(string name, Uri baseUri, IReadOnlyDictionary<string, string> keys, IReadOnlyDictionary<string, string> projects)
    {
        Name = name;
        BaseUri = baseUri;
        Keys = keys;
        Projects = projects;
    }

    public string Name { get; }

    public Uri BaseUri { get; }

    public IReadOnlyDictionary<string, string> Keys { get; }

    public IReadOnlyDictionary<string, string> Projects { get; }

    /// <summary>The IHttpClientFactory client (and resilience pipeline) of this upstream.</summary>
    public string ClientName => "sentry-upstream-" + Name;

    public string MapKey(string key) => Keys.TryGetValue(key, out var mapped) ? mapped : key;

    public string MapProject(string project) => Projects.TryGetValue(project, out var mapped) ? mapped : project;

    /// <summary>
    /// The upstreams from <c>Upstreams</c>, then from ogre's <c>Hosts</c> + <c>Projects</c> flags. Problems are
    /// added to <paramref name="errors"/>, each naming the setting.
    /// </summary>
    public static List<SentryUpstream> Resolve(SentryForwarderOptions options, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        const string s = SentryOptions.Section + ":Forwarder";
        var result = new List<SentryUpstream>();
        for (var i = 0; i < options.Upstreams.Count; i++)
        {
            var u = options.Upstreams[i];
            if (!TryBase(u.Url, out var uri))
            {
                errors.Add($"{s}:Upstreams:{i}:Url must be an absolute http(s) URL (got '{u.Url}')");
                continue;
            }

            result.Add(new SentryUpstream(
                string.IsNullOrWhiteSpace(u.Name) ? result.Count.ToString(CultureInfo.InvariantCulture) : u.Name.Trim(),
                uri,
                new Dictionary<string, string>(u.Keys, StringComparer.OrdinalIgnoreCase),
                new Dictionary<string, string>(u.Projects, StringComparer.Ordinal)));
        }

        if (string.IsNullOrWhiteSpace(options.Hosts))
        {
            if (!string.IsNullOrWhiteSpace(options.Projects))
            {
                errors.Add($"{SettingCatalog.Name<SentryForwarderOptions>(s, nameof(SentryForwarderOptions.Projects))} needs {SettingCatalog.Name<SentryForwarderOptions>(s, nameof(SentryForwarderOptions.Hosts))}");
            }

            return result;
        }

        var hosts = options.Hosts.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var keyMaps = hosts.Select(_ => new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)).ToArray();
        var projectMaps = hosts.Select(_ => new Dictionary<string, string>(StringComparer.Ordinal)).ToArray();
        foreach (var entry in (options.Projects ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != hosts.Length || parts.Any(p => p.Length == 0))
            {
                errors.Add($"{SettingCatalog.Name<SentryForwarderOptions>(s, nameof(SentryForwarderOptions.Projects))}: '{entry}' must name one key per host ({hosts.Length}), e.g. KEY1:KEY2");
                continue;
            }

            var (sourceKey, sourceProject) = SplitKeyProject(parts[0]);
            for (var h = 0; h < hosts.Length; h++)
            {
                var (key, project) = SplitKeyProject(parts[h]);
                keyMaps[h][sourceKey] = key;
                if (sourceProject is not null && project is not null)
                {
                    projectMaps[h][sourceProject] = project;
                }
            }
        }

        for (var h = 0; h < hosts.Length; h++)
        {
            if (!TryBase(hosts[h], out var uri))
            {
                errors.Add($"{SettingCatalog.Name<SentryForwarderOptions>(s, nameof(SentryForwarderOptions.Hosts))}: '{hosts[h]}' must be an absolute http(s) URL with its scheme");
                continue;
            }

            result.Add(new SentryUpstream(result.Count.ToString(CultureInfo.InvariantCulture), uri, keyMaps[h], projectMaps[h]));
        }

        foreach (var duplicate in result.GroupBy(u => u.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"{s}:Upstreams: the name '{duplicate.Key}' is used twice");
        }

        return result;
    }

    private static (string Key, string? Project) SplitKeyProject(string text)
    {
        var at = text.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (text, null) : (text[..at], text[(at + 1)..]);
    }

    private static bool TryBase(string? text, out Uri uri)
    {
        if (Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" && string.IsNullOrEmpty(parsed.Query))
        {
            uri = parsed;
            return true;
        }

        uri = null!;
        return false;
    }
}

using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Graphite.Keys;

/// <summary>
/// <c>cloudproxy keys …</c>: polymur's pgw-key against the configured state store (the embedded SQLite file or
/// Dapr's), so keys can be managed without the admin API. A running gateway sees changes at its next refresh.
/// </summary>
public static class GraphiteKeysCommand
{
    public const string Usage = """
        Usage: cloudproxy keys <command> [options]
          list [names|all]        key names (all: names and keys)
          create <name> [--prefix true|false]
                                  create a key; --prefix overrides -key-prefix for this key
          regen <name>            give the key a new secret
          delete <name>           remove the key
          set-quota <name> --points-per-second N [--burst M]
                                  limit the key (burst defaults to one second's worth)
          clear-quota <name>      remove the key's quota
        Options are the host's (e.g. --transport dapr, --CloudProxy:State:Path=data/state.db).
        """;

    private static readonly string[] QuotaFlags = ["--points-per-second", "--burst"];

    /// <summary>
    /// Splits what follows <c>keys</c> into the command (leading words, and <c>--prefix</c> with its value)
    /// and the host options (everything else, for the usual configuration).
    /// </summary>
    public static (List<string> Words, string[] Options) Split(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var words = args.TakeWhile(a => !a.StartsWith('-')).ToList();
        var options = args.Skip(words.Count).ToList();
        var at = options.IndexOf("--prefix");
        if (at >= 0)
        {
            var take = at + 1 < options.Count && bool.TryParse(options[at + 1], out _) ? 2 : 1;
            words.AddRange(options.GetRange(at, take));
            options.RemoveRange(at, take);
        }

        foreach (var flag in QuotaFlags)
        {
            at = options.IndexOf(flag);
            if (at >= 0)
            {
                var take = at + 1 < options.Count ? 2 : 1;
                words.AddRange(options.GetRange(at, take));
                options.RemoveRange(at, take);
            }
        }

        return (words, [.. options]);
    }

    /// <summary>The command words after <c>keys</c>: the verb and its operands (options removed by the caller).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> words, IServiceProvider services, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var verb = words.Count > 0 ? words[0] : string.Empty;
        var name = words.Count > 1 ? words[1] : null;
        if (!(verb == "list" || (verb is "create" or "regen" or "delete" or "set-quota" or "clear-quota" && name is not null)))
        {
            await stderr.WriteAsync(Usage);
            return 2;
        }

        // Opened only for a real command, so printing the usage creates no state file.
        var store = services.GetRequiredService<GraphiteKeyStore>();
        bool? prefix = null;
        var flag = words.ToList().IndexOf("--prefix");
        if (flag >= 0)
        {
            prefix = flag + 1 >= words.Count || !bool.TryParse(words[flag + 1], out var p) || p;
        }

        double? rate = null, burst = null;
        if (verb == "set-quota" && (!TryFlag(words, "--points-per-second", out rate) || rate is null || !TryFlag(words, "--burst", out burst)))
        {
            await stderr.WriteLineAsync("set-quota needs --points-per-second N (a number) and takes --burst M (a number)");
            return 2;
        }

        switch (verb)
        {
            case "list":
                var all = name == "all";
                foreach (var key in (await store.LoadAsync(cancellationToken)).Keys)
                {
                    await stdout.WriteLineAsync(!all ? key.Name
                        : key.Quota is { } quota ? string.Create(CultureInfo.InvariantCulture, $"{key.Name}: {key.Key} (quota {quota.PointsPerSecond} points/s, burst {quota.Burst})")
                        : $"{key.Name}: {key.Key}");
                }

                return 0;
            case "create" when name is not null:
                return await ReportAsync(await store.CreateAsync(name, prefix, cancellationToken), "registered", stdout, stderr);
            case "regen" when name is not null:
                return await ReportAsync(await store.RegenerateAsync(name, cancellationToken), "regenerated", stdout, stderr);
            case "delete" when name is not null:
                return await ReportAsync(await store.DeleteAsync(name, cancellationToken), "deleted", stdout, stderr);
            case "set-quota" or "clear-quota" when name is not null:
                var change = await store.SetQuotaAsync(name, rate, burst, cancellationToken);
                if (change.Error is { } error)
                {
                    await stderr.WriteLineAsync(error);
                    return 1;
                }

                await stdout.WriteLineAsync(change.Key!.Quota is { } set
                    ? string.Create(CultureInfo.InvariantCulture, $"Quota of {name}: {set.PointsPerSecond} points per second, burst {set.Burst}")
                    : $"Quota of {name} removed");
                return 0;
            default:
                await stderr.WriteAsync(Usage);
                return 2;
        }
    }

    /// <summary>The number after <paramref name="flag"/>: null when the flag is absent, false when it is not a number.</summary>
    private static bool TryFlag(IReadOnlyList<string> words, string flag, out double? value)
    {
        value = null;
        var at = words.ToList().IndexOf(flag);
        if (at < 0)
        {
            return true;
        }

        if (at + 1 < words.Count && double.TryParse(words[at + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static async Task<int> ReportAsync(GraphiteKeyChange change, string done, TextWriter stdout, TextWriter stderr)
    {
        if (change.Error is { } error)
        {
            await stderr.WriteLineAsync(error);
            return 1;
        }

        await stdout.WriteLineAsync(done == "deleted"
            ? $"Successfully deleted {change.Key!.Name}"
            : $"Successfully {done} {change.Key!.Name} with key {change.Key.Key}");
        return 0;
    }
}

using System.Collections;
using System.Globalization;
using System.Reflection;

namespace CloudProxy.Core.Options;

/// <summary>One setting: its configuration key, help, value type, default and flags.</summary>
public sealed record SettingInfo(string Key, string? Help, Type Type, string? Default, IReadOnlyList<FlagAttribute> Flags)
{
    /// <summary>The section part of the key (everything before the last colon).</summary>
    public string Section => Key[..Key.LastIndexOf(':')];

    public string Name => Key[(Key.LastIndexOf(':') + 1)..];

    public bool IsSwitch => Type == typeof(bool) || Type == typeof(bool?);
}

/// <summary>
/// Every setting of the options classes named by <see cref="SettingSectionAttribute"/> in the given assemblies:
/// the public properties of each class, nested options classes (a property whose type is a class of the same
/// assembly) walked as sub-sections, everything else a setting.
/// </summary>
public static class SettingCatalog
{
    public static IReadOnlyList<SettingInfo> From(IEnumerable<Assembly> assemblies)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        var settings = new List<SettingInfo>();
        foreach (var assembly in assemblies.Distinct())
        {
            foreach (var section in assembly.GetCustomAttributes<SettingSectionAttribute>())
            {
                Walk(section.Section, section.Options, settings);
            }
        }

        return settings;
    }

    /// <summary>
    /// How a validation message names a setting: its key, with its flag when it has one
    /// (<c>CloudProxy:StatsD:Forwarder:Port (--statsd-port)</c>).
    /// </summary>
    public static string Name<TOptions>(string section, string property)
    {
        var key = section + ":" + property;
        return PrimaryFlag(typeof(TOptions).GetProperty(property)) is { } flag ? $"{key} ({flag.Name})" : key;
    }

    /// <summary>The flag that names a setting: the first one declared.</summary>
    public static FlagAttribute? PrimaryFlag(IReadOnlyList<FlagAttribute> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        return flags.Count > 0 ? flags[0] : null;
    }

    private static FlagAttribute? PrimaryFlag(PropertyInfo? property) =>
        property is null ? null : PrimaryFlag([.. property.GetCustomAttributes<FlagAttribute>()]);

    private static void Walk(string section, Type type, List<SettingInfo> settings)
    {
        object? defaults = null;
        if (type.GetConstructor(Type.EmptyTypes) is not null)
        {
            defaults = Activator.CreateInstance(type);
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = section + ":" + property.Name;
            if (!property.CanWrite && !typeof(IEnumerable).IsAssignableFrom(property.PropertyType))
            {
                continue; // computed (EffectiveFailSafeWindow): not a setting
            }

            if (IsOptionsClass(type, property.PropertyType))
            {
                Walk(key, property.PropertyType, settings);
                continue;
            }

            settings.Add(new SettingInfo(
                key,
                property.GetCustomAttribute<SettingAttribute>()?.Help,
                property.PropertyType,
                defaults is null ? null : Format(property.GetValue(defaults)),
                [.. property.GetCustomAttributes<FlagAttribute>()]));
        }
    }

    private static bool IsOptionsClass(Type owner, Type type) =>
        type.IsClass && type != typeof(string) && type.Assembly == owner.Assembly && !typeof(IEnumerable).IsAssignableFrom(type);

    private static string? Format(object? value) => value switch
    {
        null => null,
        string { Length: 0 } => null,
        string s => s,
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable list => list.Cast<object>().Any() ? string.Join(",", list.Cast<object>()) : null,
        _ => value.ToString(),
    };
}

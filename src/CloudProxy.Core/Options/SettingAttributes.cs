namespace CloudProxy.Core.Options;

/// <summary>
/// The one declaration of a setting's help text, on the options property itself. <c>--help</c>, the flag table and
/// the names in validation messages are derived from these attributes (<see cref="SettingCatalog"/>); a test fails
/// when a setting has none.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class SettingAttribute(string help) : Attribute
{
    public string Help { get; } = help;
}

/// <summary>
/// A command-line flag for the property's key: ours (<c>--statsd-port</c>) or a seed's legacy name with its
/// <see cref="Origin"/> (<c>-listen-addr</c> from polymur-gateway). The first flag declared names the setting in
/// messages. <see cref="Help"/> is the flag's own line in <c>--help</c> when it
/// says more than the setting's help (a seed flag accepted and ignored, a listen address written ":80").
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public sealed class FlagAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    public string? Origin { get; init; }

    public string? Help { get; init; }
}

/// <summary>
/// Names an options class bound to a configuration section, so its settings are listed by <see cref="SettingCatalog"/>;
/// one per root options class, in the module that owns it.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class SettingSectionAttribute(string section, Type options) : Attribute
{
    public string Section { get; } = section;

    public Type Options { get; } = options;
}

/// <summary>
/// A seed whose environment variables configure it (envy style: <see cref="Prefix"/> + the flag name upper-cased,
/// dashes as underscores, e.g. polymur-gateway's <c>POLYMUR_GW_DESTINATIONS</c>): each of its flags
/// (<see cref="FlagAttribute.Origin"/> = <see cref="Origin"/>) is read from there too. Declared by the module that
/// replaces the seed.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class SeedEnvironmentAttribute(string origin, string prefix) : Attribute
{
    public string Origin { get; } = origin;

    public string Prefix { get; } = prefix;
}

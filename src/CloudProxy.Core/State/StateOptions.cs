using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Core.State.StateOptions.Section, typeof(CloudProxy.Core.State.StateOptions))]

namespace CloudProxy.Core.State;

/// <summary>Section <c>CloudProxy:State</c>: the embedded state store (used without Dapr).</summary>
public sealed class StateOptions
{
    public const string Section = "CloudProxy:State";

    [Setting("SQLite file of the embedded store; its folder is created. Empty (the default): state.db in the data directory.")]
    public string Path { get; set; } = string.Empty;
}

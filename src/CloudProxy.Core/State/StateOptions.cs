namespace CloudProxy.Core.State;

/// <summary>Section <c>CloudProxy:State</c>: the embedded state store (used without Dapr).</summary>
public sealed class StateOptions
{
    public const string Section = "CloudProxy:State";

    /// <summary>SQLite file of the embedded store; its folder is created. Empty (the default): <c>state.db</c> in the data directory.</summary>
    public string Path { get; set; } = string.Empty;
}

namespace CloudProxy.Core.Spool;

/// <summary>Section <c>CloudProxy:Spool</c>: the on-disk overflow (SQLite) for the outbox.</summary>
public sealed class SpoolOptions
{
    public const string Section = "CloudProxy:Spool";

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// SQLite file; its folder is created. Relative paths are relative to the working directory. Empty (the
    /// default): <c>spool.db</c> in the data directory (<see cref="Hosting.DataDirectory"/>).
    /// </summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>Payload bytes the spool may hold; past that, new data is refused (and counted).</summary>
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;
}

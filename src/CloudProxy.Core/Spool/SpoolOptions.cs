using CloudProxy.Core.Storage;

namespace CloudProxy.Core.Spool;

/// <summary>
/// Section <c>CloudProxy:Spool</c>: the folder of every durable log (the outbox of each topic, the deferral logs
/// of each forwarder, the quarantine) and the disk bound they share.
/// </summary>
public sealed class SpoolOptions
{
    public const string Section = "CloudProxy:Spool";

    /// <summary>
    /// Folder of the logs; created. Relative paths are relative to the working directory. Empty (the default):
    /// <c>spool</c> in the data directory (<see cref="Hosting.DataDirectory"/>).
    /// </summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>Bytes the log files may take on disk, all of them together; past that, new data is refused (and counted).</summary>
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>A log segment file is closed and a new one started once it would pass this size.</summary>
    public long SegmentBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>When the logs are flushed to the device: <c>None</c>, <c>Interval</c> (default) or <c>Always</c>.</summary>
    public FsyncPolicy Fsync { get; set; } = FsyncPolicy.Interval;

    /// <summary>How often <c>Interval</c> flushes.</summary>
    public double FsyncIntervalMilliseconds { get; set; } = 1000;

    /// <summary>Share of <see cref="MaxBytes"/> kept free of new ingress data, so deferrals and quarantine can still be written.</summary>
    public double ReserveShare { get; set; } = 0.1;

    /// <summary>Most bytes the quarantine keeps; past that its oldest entries are deleted (and counted).</summary>
    public long QuarantineMaxBytes { get; set; } = 64L * 1024 * 1024;
}

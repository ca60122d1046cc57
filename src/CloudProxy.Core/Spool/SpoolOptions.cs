using CloudProxy.Core.Options;
using CloudProxy.Core.Storage;

[assembly: SettingSection(CloudProxy.Core.Spool.SpoolOptions.Section, typeof(CloudProxy.Core.Spool.SpoolOptions))]

namespace CloudProxy.Core.Spool;

/// <summary>
/// Section <c>CloudProxy:Spool</c>: the folder of every durable log (the outbox of each topic, the deferral logs
/// of each forwarder, the quarantine) and the disk bound they share.
/// </summary>
public sealed class SpoolOptions
{
    public const string Section = "CloudProxy:Spool";

    [Setting("Folder of the logs; created. Relative paths are relative to the working directory. Empty (the default): spool in the data directory (DataDirectory).")]
    [Flag("--spool-path")]
    public string Path { get; set; } = string.Empty;

    [Setting("Bytes the log files may take on disk, all of them together; past that, new data is refused (and counted).")]
    [Flag("--spool-max-bytes")]
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;

    [Setting("A log segment file is closed and a new one started once it would pass this size.")]
    public long SegmentBytes { get; set; } = 16L * 1024 * 1024;

    [Setting("When the logs are flushed to the device: None, Interval (default) or Always.")]
    [Flag("--fsync")]
    public FsyncPolicy Fsync { get; set; } = FsyncPolicy.Interval;

    [Setting("How often Interval flushes.")]
    public double FsyncIntervalMilliseconds { get; set; } = 1000;

    [Setting("Share of MaxBytes kept free of new ingress data, so deferrals and quarantine can still be written.")]
    public double ReserveShare { get; set; } = 0.1;

    [Setting("Most bytes the quarantine keeps; past that its oldest entries are deleted (and counted).")]
    public long QuarantineMaxBytes { get; set; } = 64L * 1024 * 1024;
}

using System.Collections.Concurrent;
using System.Text;
using CloudProxy.Core.Metrics;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Core.Storage;

/// <summary>
/// Every durable log of the process under one folder (<c>CloudProxy:Spool:Path</c>): the outbox of each topic,
/// the deferral logs of each forwarder, the quarantine. They share one disk bound (the files on disk count, all
/// of them) and one memory bound for their cached heads.
/// </summary>
public sealed partial class LogStore : IAsyncDisposable
{
    private readonly SpoolOptions _options;
    private readonly CoreMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<SegmentLog> _logger;
    private readonly ConcurrentDictionary<string, SegmentLog> _logs = new(StringComparer.Ordinal);
    private readonly Lock _opening = new();

    public LogStore(
        IOptions<SpoolOptions> spool, IOptions<OutboxOptions> outbox, CoreMetrics metrics, CollectorRegistry registry, TimeProvider time, ILogger<SegmentLog> logger)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(registry);
        _options = spool.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        Root = Path.GetFullPath(_options.Path);
        Directory.CreateDirectory(Root);
        Disk = new ByteBudget(_options.MaxBytes);
        Memory = new ByteBudget(outbox.Value.MaxBytes);
        Log.Opened(logger, Root, _options.MaxBytes, _options.Fsync);

        // Read at scrape time: what waits on disk (outbox and deferral logs; the quarantine is not waiting), the
        // bytes of every file, the memory of the cached heads.
        registry.AddBeforeCollectCallback(() =>
        {
            _metrics.SpoolEnvelopes.Set(_logs.Where(l => l.Key != QuarantineFolder).Sum(l => l.Value.PendingRecords));
            _metrics.SpoolBytes.Set(Disk.Used);
            _metrics.OutboxBytes.Set(Memory.Used);
        });
    }

    /// <summary>The folder of the quarantine's log.</summary>
    public const string QuarantineFolder = "quarantine";

    /// <summary>The folder (absolute).</summary>
    public string Root { get; }

    public ByteBudget Disk { get; }

    public ByteBudget Memory { get; }

    public IEnumerable<SegmentLog> Logs => _logs.Values;

    /// <summary>
    /// Opens the log at <paramref name="relativePath"/> (once; later calls return the same log). Ingress logs
    /// leave <see cref="SpoolOptions.ReserveShare"/> of the disk bound free for the logs that must still be
    /// written when ingress is refused: deferrals and the quarantine.
    /// </summary>
    public SegmentLog Open(string relativePath, bool leaveReserve, string topic)
    {
        if (_logs.TryGetValue(relativePath, out var open))
        {
            return open;
        }

        lock (_opening)
        {
            if (_logs.TryGetValue(relativePath, out open))
            {
                return open;
            }

            var settings = new SegmentLogSettings(
                Path.Combine(Root, relativePath),
                Math.Max(64 * 1024, Math.Min(_options.SegmentBytes, _options.MaxBytes / 8)),
                _options.Fsync,
                TimeSpan.FromMilliseconds(_options.FsyncIntervalMilliseconds),
                leaveReserve ? (long)(_options.MaxBytes * _options.ReserveShare) : 0,
                OnWriteFailed: (_, lost) => _metrics.Lost.WithLabels("write_failed").Inc(lost),
                OnCorrupt: bytes => _metrics.SpoolCorruptBytes.Inc(bytes));
            var log = SegmentLog.Open(settings, Disk, Memory, _time, _logger);
            var report = log.Recovery;
            _metrics.Duplicates.WithLabels(topic, "restart").Inc(report.MaybeDelivered);
            _metrics.SpoolDamagedSegments.Inc(report.DamagedSegments);
            _metrics.SpoolSalvaged.Inc(report.Salvaged);
            _logs[relativePath] = log;
            return log;
        }
    }

    /// <summary>The folders directly under <paramref name="relativePath"/> (logs left by an earlier run), decoded back to names.</summary>
    public IReadOnlyList<string> Children(string relativePath)
    {
        var folder = Path.Combine(Root, relativePath);
        return Directory.Exists(folder)
            ? [.. Directory.EnumerateDirectories(folder).Select(d => DecodeName(Path.GetFileName(d)))]
            : [];
    }

    /// <summary>
    /// A topic name as a folder name: letters, digits, '-' and '_' stay, every other byte of its UTF-8 becomes
    /// "%XX" (so "." and "..", or a '/', can never name another folder). Reversible by <see cref="DecodeName"/>.
    /// </summary>
    public static string EncodeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = new StringBuilder(name.Length);
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    public static string DecodeName(string folder) => Uri.UnescapeDataString(folder);

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.SpoolOpened, Level = LogLevel.Information, Message = "Spool {Path} opened: every log bounded to {MaxBytes} bytes on disk together, fsync {Fsync}")]
        public static partial void Opened(ILogger logger, string path, long maxBytes, FsyncPolicy fsync);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var log in _logs.Values)
        {
            await log.DisposeAsync();
        }

        _logs.Clear();
    }
}

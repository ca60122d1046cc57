using System.Globalization;
using System.Text;
using CloudProxy.Core.Metrics;
using Microsoft.Extensions.Logging;

namespace CloudProxy.Transport.Dapr.Subscriptions;

/// <summary>
/// Which daprd deliveries this process is handling, in a file that outlives a <c>kill -9</c>. A delivery the
/// process handled (sent on, or put in its deferral log) but did not answer before it died is delivered again by
/// daprd, which cannot know the first attempt got through: the envelopes reach their destination twice. Each
/// delivery is marked open (<c>+id count topic</c>) before it is handled and closed (<c>-id</c>) once answered;
/// the next process counts the envelopes of every delivery still open as possible duplicates (reason
/// <c>redelivery</c>), the way the log counts what it had in flight (reason <c>restart</c>).
/// Each mark is one <c>write(2)</c> with no fsync: it has to survive the process, not the machine.
/// </summary>
internal sealed partial class DeliveryJournal : IDisposable
{
    /// <summary>Past this size the file is rewritten with only the open deliveries.</summary>
    internal const long CompactBytes = 1024 * 1024;

    private readonly string _path;
    private readonly Dictionary<long, string> _open = [];
    private readonly Lock _lock = new();
    private FileStream _file;
    private long _next;

    public DeliveryJournal(string path, CoreMetrics metrics, ILogger<DeliveryJournal> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var leftover = File.Exists(path) ? OpenDeliveries(File.ReadAllLines(path)) : [];
        foreach (var (topic, count) in leftover)
        {
            metrics.Duplicates.WithLabels(topic, "redelivery").Inc(count);
            Log.Redeliveries(logger, count, topic);
        }

        _file = OpenEmpty(path);
    }

    /// <summary>Marks a delivery of <paramref name="count"/> envelopes on <paramref name="topic"/> open; returns its mark.</summary>
    public long Begin(string topic, int count)
    {
        lock (_lock)
        {
            var id = ++_next;
            var line = string.Create(CultureInfo.InvariantCulture, $"+{id} {count} {topic}\n");
            _open[id] = line;
            Write(line);
            return id;
        }
    }

    /// <summary>Closes a delivery: it was answered, daprd will not send it again.</summary>
    public void End(long id)
    {
        lock (_lock)
        {
            if (!_open.Remove(id))
            {
                return;
            }

            Write(string.Create(CultureInfo.InvariantCulture, $"-{id}\n"));
            if (_file.Length >= CompactBytes)
            {
                Compact();
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file.Dispose();
        }
    }

    /// <summary>The deliveries a journal's lines leave open, summed per topic.</summary>
    internal static Dictionary<string, long> OpenDeliveries(IEnumerable<string> lines)
    {
        var open = new Dictionary<long, (string Topic, long Count)>();
        foreach (var line in lines)
        {
            if (line.Length < 2)
            {
                continue;
            }

            // A line cut by the kill (no topic yet, or a partial id) is skipped: its delivery was not handled yet.
            var parts = line[1..].Split(' ', 3);
            if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }

            if (line[0] == '-')
            {
                open.Remove(id);
            }
            else if (line[0] == '+' && parts.Length == 3
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                open[id] = (parts[2], count);
            }
        }

        return open.Values.GroupBy(o => o.Topic).ToDictionary(g => g.Key, g => g.Sum(o => o.Count), StringComparer.Ordinal);
    }

    private void Write(string line) => _file.Write(Encoding.UTF8.GetBytes(line));

    private void Compact()
    {
        // The open marks go to a new file that replaces the old one in one rename: a kill at any moment leaves
        // one whole journal, never a half-written one.
        var next = _path + ".next";
        using (var file = new FileStream(next, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.Write(Encoding.UTF8.GetBytes(string.Concat(_open.Values)));
        }

        _file.Dispose();
        File.Move(next, _path, overwrite: true);
        _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 0);
    }

    private static FileStream OpenEmpty(string path) =>
        new(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);

    private static partial class Log
    {
        [LoggerMessage(DaprLogEvents.Redeliveries, LogLevel.Warning,
            "{Count} envelopes on topic {Topic} were being handled when the last process stopped without answering daprd; " +
            "daprd delivers them again, so they may arrive twice (counted as duplicates, reason redelivery)")]
        public static partial void Redeliveries(ILogger logger, long count, string topic);
    }
}

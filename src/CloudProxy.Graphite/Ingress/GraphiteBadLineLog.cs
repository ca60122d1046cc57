using System.Collections.Concurrent;
using System.Text;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Ingress;

/// <summary>A refused line as the admin API shows it.</summary>
internal sealed record GraphiteBadLine(DateTimeOffset At, string Reason, string Line);

/// <summary>
/// Bad lines per API key: a counter by key and reason (the key label is capped at MaxKeyLabels names, the
/// rest count as <c>_other</c>; key names are created by operators, so this is a guard, not a routine) and
/// the last RecentBadLines lines of each key for the admin API.
/// </summary>
internal sealed class GraphiteBadLineLog
{
    public const string OtherKey = "_other";
    private const int MaxShownLineBytes = 512;

    private readonly ConcurrentDictionary<string, KeyLog> _keys = new(StringComparer.Ordinal);
    private readonly Counter _counter;
    private readonly TimeProvider _time;
    private readonly int _recent;
    private readonly int _maxKeys;

    public GraphiteBadLineLog(IMetricFactory metrics, IOptions<GraphiteOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        _counter = metrics.CreateCounter(GraphiteMetricNames.BadLines, "Lines refused by validation, by API key and reason.", ["key", "reason"]);
        _time = time;
        _recent = options.Value.Gateway.RecentBadLines;
        _maxKeys = options.Value.Gateway.MaxKeyLabels;
    }

    /// <summary>The sink for one key's lines (shared <c>_other</c> past the label cap).</summary>
    public IGraphiteBadLines For(string key)
    {
        if (_keys.TryGetValue(key, out var log))
        {
            return log;
        }

        return _keys.Count >= _maxKeys
            ? _keys.GetOrAdd(OtherKey, k => new KeyLog(this, k))
            : _keys.GetOrAdd(key, k => new KeyLog(this, k));
    }

    public IReadOnlyDictionary<string, IReadOnlyList<GraphiteBadLine>> Snapshot() =>
        _keys.ToDictionary(p => p.Key, p => p.Value.Recent(), StringComparer.Ordinal);

    public IReadOnlyList<GraphiteBadLine> Recent(string key) => _keys.TryGetValue(key, out var log) ? log.Recent() : [];

    private sealed class KeyLog(GraphiteBadLineLog owner, string key) : IGraphiteBadLines
    {
        private readonly Queue<GraphiteBadLine> _lines = new();
        private readonly Lock _gate = new();

        public void Add(GraphiteLineProblem problem, ReadOnlySpan<byte> line)
        {
            var reason = GraphiteLineParser.ReasonName(problem);
            owner._counter.WithLabels(key, reason).Inc();
            if (owner._recent == 0)
            {
                return;
            }

            var shown = Encoding.UTF8.GetString(line.Length > MaxShownLineBytes ? line[..MaxShownLineBytes] : line);
            lock (_gate)
            {
                _lines.Enqueue(new GraphiteBadLine(owner._time.GetUtcNow(), reason, shown));
                while (_lines.Count > owner._recent)
                {
                    _lines.Dequeue();
                }
            }
        }

        public IReadOnlyList<GraphiteBadLine> Recent()
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }
}

using System.Collections.Concurrent;
using CloudProxy.Graphite.Ingress;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Keys;

/// <summary>
/// One <see cref="GraphiteQuotaBucket"/> per key name with a quota, following the key record the cache
/// serves: an edited quota (admin API or <c>cloudproxy keys</c>, seen at the cache's next load) changes the
/// bucket's rate and burst in place and refills it to the new burst. The plaintext listener, which has no key, has one
/// listener-wide bucket from PlaintextPointsPerSecond/PlaintextBurst under the name <c>_plaintext</c>.
/// Refusals and waits are counted per key name; the label is capped at MaxKeyLabels names (then
/// <c>_other</c>), as the bad-lines counter is, though only keys an operator gave a quota can appear.
/// </summary>
internal sealed class GraphiteQuotas
{
    private readonly ConcurrentDictionary<string, GraphiteQuotaBucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _labels = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _maxLabels;
    private readonly Counter _refusedBatches;
    private readonly Counter _refusedPoints;
    private readonly Counter _waits;
    private readonly Counter _waitedSeconds;

    public GraphiteQuotas(IMetricFactory metrics, IOptions<GraphiteOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        var gateway = options.Value.Gateway;
        _time = time;
        _maxLabels = gateway.MaxKeyLabels;
        _refusedBatches = metrics.CreateCounter(GraphiteMetricNames.QuotaRefusedBatches, "HTTP batches refused with 429 because the key was over its quota, by key.", ["key"]);
        _refusedPoints = metrics.CreateCounter(GraphiteMetricNames.QuotaRefusedPoints, "Points in batches refused with 429 (over quota), by key.", ["key"]);
        _waits = metrics.CreateCounter(GraphiteMetricNames.QuotaWaits, "Times the plaintext listener stopped reading a connection until the quota allowed its points, by key.", ["key"]);
        _waitedSeconds = metrics.CreateCounter(GraphiteMetricNames.QuotaWaitedSeconds, "Seconds plaintext connections were not read because of the quota, by key.", ["key"]);
        if (gateway.PlaintextPointsPerSecond > 0)
        {
            Plaintext = new GraphiteQuotaBucket(
                gateway.PlaintextPointsPerSecond,
                gateway.PlaintextBurst > 0 ? gateway.PlaintextBurst : Math.Max(1, gateway.PlaintextPointsPerSecond),
                time);
        }
    }

    /// <summary>The plaintext listener's bucket, or null when it has no quota.</summary>
    public GraphiteQuotaBucket? Plaintext { get; }

    /// <summary>The key's bucket, in step with the key's current quota; null when it has none.</summary>
    public GraphiteQuotaBucket? For(GraphiteApiKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Quota is not { } quota)
        {
            _buckets.TryRemove(key.Name, out _);
            return null;
        }

        var bucket = _buckets.GetOrAdd(key.Name, _ => new GraphiteQuotaBucket(quota.PointsPerSecond, quota.Burst, _time));
        if (bucket.PointsPerSecond != quota.PointsPerSecond || bucket.Burst != quota.Burst)
        {
            bucket.Reconfigure(quota.PointsPerSecond, quota.Burst);
        }

        return bucket;
    }

    public void Refused(string key, int points)
    {
        var label = Label(key);
        _refusedBatches.WithLabels(label).Inc();
        _refusedPoints.WithLabels(label).Inc(points);
    }

    public void Waited(string key, TimeSpan waited)
    {
        var label = Label(key);
        _waits.WithLabels(label).Inc();
        _waitedSeconds.WithLabels(label).Inc(waited.TotalSeconds);
    }

    private string Label(string key)
    {
        if (_labels.ContainsKey(key))
        {
            return key;
        }

        if (_labels.Count >= _maxLabels)
        {
            return GraphiteBadLineLog.OtherKey;
        }

        _labels.TryAdd(key, 0);
        return key;
    }
}

using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.Graphite.Forwarder;

/// <summary>
/// The <c>graphite-forwarder</c>: takes <c>graphite.lines</c> envelopes and hands their lines to each
/// destination's link, all of them (broadcast) or per metric name by a carbon-compatible hash ring. An
/// envelope is Success once every destination it routes to has written it to carbon's socket or to its own
/// spool (so a crash of this process cannot lose it); Retry when a spool is full (a repeat is harmless:
/// carbon keeps one value per timestamp); Drop for an unknown kind.
/// </summary>
internal sealed partial class GraphiteForwarder : IEnvelopeHandler, IHostedService, IDisposable
{
    /// <summary>The envelope kind the gateway writes: validated plaintext lines, each ending in <c>\n</c>.</summary>
    public const string LinesKind = "graphite.lines";

    private readonly GraphiteDestinationLink[] _links;
    private readonly IGraphiteRing? _ring;
    private readonly int _replication;
    private readonly GraphiteForwarderMetrics _metrics;
    private readonly ILogger<GraphiteForwarder> _logger;
    private readonly LogThrottle _unknownKindLog;
    private readonly CancellationTokenSource _stop = new();
    private Task[] _loops = [];

    public GraphiteForwarder(
        IOptions<GraphiteOptions> options, GraphiteForwarderMetrics metrics, CollectorRegistry registry, TimeProvider time, ILogger<GraphiteForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        var o = options.Value.Forwarder;
        Topic = options.Value.Topic;
        _metrics = metrics;
        _logger = logger;
        _unknownKindLog = new LogThrottle(time);
        var destinations = o.DestinationList().Select(d => GraphiteDestination.Parse(d, out _)!).ToArray();
        _links = [.. destinations.Select(d => new GraphiteDestinationLink(d, o, metrics, time, logger))];
        var distribution = GraphiteOptionsValidator.ParseDistribution(o.Distribution) ?? GraphiteDistribution.Broadcast;
        _ring = distribution switch
        {
            GraphiteDistribution.CarbonCh => new CarbonHashRing(destinations),
            GraphiteDistribution.Fnv1aCh => new Fnv1aHashRing(destinations),
            _ => null,
        };
        _replication = Math.Clamp(o.ReplicationFactor, 1, Math.Max(1, destinations.Length));
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var link in _links)
            {
                metrics.For(link.Destination.Name).Queued.Set(link.QueuedPoints);
            }
        });
    }

    public string Topic { get; }

    public IReadOnlyList<GraphiteDestinationLink> Links => _links;

    public async ValueTask HandleAsync(IReadOnlyList<Envelope> batch, DeliveryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(outcomes);
        var routed = new List<(int Index, List<Task<bool>> Offers)>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var envelope = batch[i];
            if (!string.Equals(envelope.Kind, LinesKind, StringComparison.Ordinal))
            {
                outcomes[i] = DeliveryOutcome.Drop;
                _metrics.EnvelopesDropped.WithLabels("unknown_kind").Inc();
                if (_unknownKindLog.ShouldLog(out var dropped))
                {
                    Log.UnknownKind(_logger, dropped, envelope.Kind, Topic);
                }

                continue;
            }

            if (_links.Length == 0)
            {
                outcomes[i] = DeliveryOutcome.Unavailable;
                continue;
            }

            // Offered to every link first, awaited after, so the links write the whole batch side by side.
            routed.Add((i, Route(envelope.Payload)));
        }

        foreach (var (index, offers) in routed)
        {
            var all = true;
            foreach (var offer in offers)
            {
                all &= await offer;
            }

            outcomes[index] = all ? DeliveryOutcome.Success : DeliveryOutcome.Retry;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_links.Length == 0)
        {
            Log.NoDestinations(_logger);
        }

        _loops = [.. _links.Select(link => Task.Run(() => link.RunAsync(_stop.Token), CancellationToken.None))];
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        foreach (var link in _links)
        {
            link.Dispose();
        }

        _stop.Dispose();
    }

    /// <summary>Hands the lines to their links; the offers complete once each link has them written.</summary>
    private List<Task<bool>> Route(ReadOnlyMemory<byte> payload)
    {
        var points = payload.Span.Count((byte)'\n');
        if (points == 0)
        {
            return [];
        }

        if (_ring is null)
        {
            return [.. _links.Select(link => link.OfferAsync(payload, points))];
        }

        return RouteByHash(payload.Span);
    }

    private List<Task<bool>> RouteByHash(ReadOnlySpan<byte> payload)
    {
        var buffers = new GraphitePooledBuffer?[_links.Length];
        var counts = new int[_links.Length];
        Span<int> nodes = stackalloc int[_replication];
        try
        {
            var rest = payload;
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOf((byte)'\n');
                var line = end < 0 ? rest : rest[..(end + 1)];
                rest = end < 0 ? default : rest[(end + 1)..];
                var space = line.IndexOf((byte)' ');
                var found = _ring!.GetNodes(space < 0 ? line : line[..space], nodes);
                for (var n = 0; n < found; n++)
                {
                    var node = nodes[n];
                    (buffers[node] ??= new GraphitePooledBuffer(payload.Length / Math.Max(1, _links.Length - 1))).Write(line);
                    counts[node]++;
                }
            }

            var offers = new List<Task<bool>>(_links.Length);
            for (var node = 0; node < _links.Length; node++)
            {
                if (buffers[node] is { } buffer)
                {
                    offers.Add(_links[node].OfferAsync(buffer.ToArray(), counts[node]));
                }
            }

            return offers;
        }
        finally
        {
            foreach (var buffer in buffers)
            {
                buffer?.Dispose();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.UnknownKind, Level = LogLevel.Warning, Message = "Dropped {Count} envelope(s) since the last report, the last of kind {Kind} on topic {Topic}: the Graphite forwarder reads only graphite.lines")]
        public static partial void UnknownKind(ILogger logger, long count, string kind, string topic);

        [LoggerMessage(EventId = GraphiteEventIds.NoDestinations, Level = LogLevel.Warning, Message = "The Graphite forwarder has no destinations (CloudProxy:Graphite:Forwarder:Destinations, -destinations); the gateway answers 503")]
        public static partial void NoDestinations(ILogger logger);
    }
}

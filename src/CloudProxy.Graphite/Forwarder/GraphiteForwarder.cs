using System.Globalization;
using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite.Protocol;
using CloudProxy.Graphite.Routing;
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
    private readonly GraphiteRouter? _router;
    private readonly GraphiteAggregator? _aggregator;
    private readonly TimeProvider _time;
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
        if (!string.IsNullOrWhiteSpace(o.RoutesFile))
        {
            var errors = new List<string>();
            _router = new GraphiteRouter(GraphiteRouteConfig.Load(o.RoutesFile, errors)
                ?? throw new InvalidOperationException($"{GraphiteOptions.Section}:Forwarder:RoutesFile: {string.Join("; ", errors)}"));
        }

        if (!string.IsNullOrWhiteSpace(o.AggregationRulesFile))
        {
            var errors = new List<string>();
            _aggregator = new GraphiteAggregator(
                GraphiteAggregator.Load(o.AggregationRulesFile, errors)
                    ?? throw new InvalidOperationException($"{GraphiteOptions.Section}:Forwarder:AggregationRulesFile: {string.Join("; ", errors)}"),
                o.AggregationMaxIntervals,
                o.AggregationForwardInputs);
        }

        _time = time;
        var destinations = _router?.Destinations.ToArray() ?? [.. o.DestinationList().Select(d => GraphiteDestination.Parse(d, out _)!)];
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

            if (_links.Length == 0 && _router is null)
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
        if (_aggregator is not null)
        {
            _loops = [.. _loops, Task.Run(() => AggregateLoopAsync(_stop.Token), CancellationToken.None)];
        }

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
        if (_aggregator is not null)
        {
            payload = Aggregate(payload.Span);
        }

        return RouteLines(payload);
    }

    /// <summary>Feeds every line to the aggregator; returns the lines still to forward.</summary>
    private byte[] Aggregate(ReadOnlySpan<byte> payload)
    {
        using var kept = new GraphitePooledBuffer(payload.Length);
        var rest = payload;
        while (!rest.IsEmpty)
        {
            var line = NextLine(ref rest);
            var text = line.TrimEnd((byte)'\n');
            var first = text.IndexOf((byte)' ');
            var last = text.LastIndexOf((byte)' ');
            if (first > 0 && last > first
                && double.TryParse(text[(first + 1)..last], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && double.TryParse(text[(last + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var timestamp)
                && !_aggregator!.Input(Encoding.UTF8.GetString(text[..first]), value, timestamp))
            {
                continue;
            }

            kept.Write(line);
        }

        return kept.ToArray();
    }

    /// <summary>At every whole second, computes the buffers whose frequency divides it and routes what they emit; at stop, all of them.</summary>
    private async Task AggregateLoopAsync(CancellationToken cancellationToken)
    {
        var last = _time.GetUtcNow().ToUnixTimeSeconds();
        var output = new StringBuilder();
        while (true)
        {
            var stopping = false;
            try
            {
                var now = _time.GetUtcNow();
                await Task.Delay(TimeSpan.FromMilliseconds(1000 - now.Millisecond), _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                stopping = true;
            }

            var second = _time.GetUtcNow().ToUnixTimeSeconds();
            for (var s = Math.Max(last + 1, second - 3600); s <= second; s++)
            {
                _aggregator!.Compute(s, output);
            }

            last = second;
            if (stopping)
            {
                _aggregator!.Compute(second, output, all: true);
            }

            if (output.Length > 0)
            {
                var lines = Encoding.UTF8.GetBytes(output.ToString());
                output.Clear();
                var points = lines.AsSpan().Count((byte)'\n');
                _metrics.Aggregated.Inc(points);
                var all = true;
                try
                {
                    // At stop the links are closing too: their spools take what they cannot send, but do not wait forever.
                    var results = await Task.WhenAll(RouteLines(lines)).WaitAsync(stopping ? TimeSpan.FromSeconds(5) : Timeout.InfiniteTimeSpan, CancellationToken.None);
                    all = results.All(r => r);
                }
                catch (TimeoutException)
                {
                    all = false;
                }

                if (!all)
                {
                    _metrics.RoutingDropped.WithLabels("aggregate_spool_full").Inc(points);
                }
            }

            if (stopping)
            {
                return;
            }
        }
    }

    private List<Task<bool>> RouteLines(ReadOnlyMemory<byte> payload)
    {
        var points = payload.Span.Count((byte)'\n');
        if (points == 0)
        {
            return [];
        }

        if (_router is not null)
        {
            return RouteByRules(payload.Span);
        }

        if (_ring is null)
        {
            return [.. _links.Select(link => link.OfferAsync(payload, points))];
        }

        return RouteByHash(payload.Span);
    }

    private List<Task<bool>> RouteByHash(ReadOnlySpan<byte> payload)
    {
        using var batches = new PerLink(_links, payload.Length / Math.Max(1, _links.Length - 1));
        Span<int> nodes = stackalloc int[_replication];
        var rest = payload;
        while (!rest.IsEmpty)
        {
            var line = NextLine(ref rest);
            var space = line.IndexOf((byte)' ');
            var found = _ring!.GetNodes(space < 0 ? line : line[..space], nodes);
            for (var n = 0; n < found; n++)
            {
                batches.Line(nodes[n]).Write(line);
            }
        }

        return batches.Offer();
    }

    /// <summary>Runs each line through the routes file's rules; a rewritten name replaces the line's name.</summary>
    private List<Task<bool>> RouteByRules(ReadOnlySpan<byte> payload)
    {
        using var batches = new PerLink(_links, Math.Max(256, payload.Length / Math.Max(1, _links.Length - 1)));
        var result = new GraphiteRouteResult();
        int blackholed = 0, unmatched = 0, rewritten = 0;
        var rest = payload;
        while (!rest.IsEmpty)
        {
            var line = NextLine(ref rest);
            var space = line.IndexOf((byte)' ');
            var nameBytes = space < 0 ? line.TrimEnd((byte)'\n') : line[..space];
            var tail = space < 0 ? "\n"u8 : line[space..];
            var name = Encoding.UTF8.GetString(nameBytes);
            _router!.Route(name, result);
            if (result.Destinations.Count == 0)
            {
                if (result.NothingMatched)
                {
                    unmatched++;
                }
                else
                {
                    blackholed++;
                }

                continue;
            }

            var renamed = !string.Equals(result.Name, name, StringComparison.Ordinal);
            rewritten += renamed ? 1 : 0;
            var newName = renamed ? Encoding.UTF8.GetBytes(result.Name) : null;
            foreach (var node in result.Destinations)
            {
                var buffer = batches.Line(node);
                buffer.Write(newName is null ? nameBytes : newName);
                buffer.Write(tail);
            }
        }

        _metrics.RoutingDropped.WithLabels("blackhole").Inc(blackholed);
        _metrics.RoutingDropped.WithLabels("no_match").Inc(unmatched);
        _metrics.RoutingRewritten.Inc(rewritten);
        return batches.Offer();
    }

    /// <summary>Takes the next line, with its '\n' when it has one, off the front of <paramref name="rest"/>.</summary>
    private static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> rest)
    {
        var end = rest.IndexOf((byte)'\n');
        var line = end < 0 ? rest : rest[..(end + 1)];
        rest = end < 0 ? default : rest[(end + 1)..];
        return line;
    }

    /// <summary>One payload's lines grouped per link, each group offered to its link as one chunk.</summary>
    private sealed class PerLink(GraphiteDestinationLink[] links, int initialBytes) : IDisposable
    {
        private readonly GraphitePooledBuffer?[] _buffers = new GraphitePooledBuffer?[links.Length];
        private readonly int[] _counts = new int[links.Length];

        /// <summary>The buffer for one more line to link <paramref name="node"/>.</summary>
        public GraphitePooledBuffer Line(int node)
        {
            _counts[node]++;
            return _buffers[node] ??= new GraphitePooledBuffer(initialBytes);
        }

        public List<Task<bool>> Offer()
        {
            var offers = new List<Task<bool>>(links.Length);
            for (var node = 0; node < links.Length; node++)
            {
                if (_buffers[node] is { } buffer)
                {
                    offers.Add(links[node].OfferAsync(buffer.ToArray(), _counts[node]));
                }
            }

            return offers;
        }

        public void Dispose()
        {
            foreach (var buffer in _buffers)
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

using System.Diagnostics;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Outbox;
using CloudProxy.Graphite.Forwarder;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite.Ingress;

/// <summary>
/// Validates a block of plaintext for one key and hands the good lines to the outbox as ONE envelope (a
/// batch, never single points). Shared by the HTTP gateway and the plaintext listener.
/// </summary>
internal sealed class GraphiteSubmitter(
    IOutbox outbox, GraphiteBadLineLog badLines, GraphiteIngressMetrics metrics, IOptions<GraphiteOptions> options, TimeProvider time)
{
    private readonly GraphiteGatewayOptions _options = options.Value.Gateway;
    private readonly string _topic = options.Value.Topic;

    public GraphiteLineRules Rules()
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        return GraphiteLineRules.At(now, _options.MaxNameLength, _options.MaxAgeSeconds, _options.MaxFutureSeconds);
    }

    /// <summary>Validates <paramref name="text"/> into <paramref name="output"/> (cleared first); bad lines are logged per key.</summary>
    public GraphiteBatchResult Validate(ReadOnlySpan<byte> text, string key, ReadOnlySpan<byte> prefix, GraphitePooledBuffer output, bool final = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Clear();
        return GraphiteBatchWriter.Write(text, prefix, Rules(), output, badLines.For(key), final);
    }

    /// <summary>Enqueues the validated lines, completing once they are durable; Refused means the spool is full (answer 503).</summary>
    public async ValueTask<OutboxResult> SubmitAsync(GraphitePooledBuffer lines, int points, string key)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (points == 0)
        {
            return OutboxResult.Accepted;
        }

        var activity = Activity.Current;
        var result = await outbox.EnqueueAsync(new Envelope
        {
            Topic = _topic,
            Kind = GraphiteForwarder.LinesKind,
            Key = key,
            ReceivedAt = time.GetUtcNow(),
            TraceParent = activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null,
            TraceState = activity?.TraceStateString,
            Payload = lines.ToArray(),
        });
        if (result != OutboxResult.Refused)
        {
            metrics.PointsAccepted.Inc(points);
        }

        return result;
    }
}

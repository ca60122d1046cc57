using System.IO.Compression;
using System.Net;

namespace CloudProxy.Sentry.Forwarder;

/// <summary>
/// The body of one upstream request, as it goes on the wire (gzip-compressed or not). Every time it is
/// written to a connection (the first attempt and each retry of the resilience pipeline) it reports its length,
/// so the bytes-on-the-wire metric counts what was really sent.
/// </summary>
internal sealed class SentryBodyContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _body;
    private readonly long _uncompressed;
    private readonly Action<long, long>? _sent;

    /// <param name="body">The bytes to send.</param>
    /// <param name="uncompressed">The length of the body before compression (reported beside the wire bytes).</param>
    /// <param name="sent">Called with (wire bytes, uncompressed bytes) each time the body is written.</param>
    public SentryBodyContent(ReadOnlyMemory<byte> body, long uncompressed, Action<long, long>? sent)
    {
        _body = body;
        _uncompressed = uncompressed;
        _sent = sent;
    }

    /// <summary>The bytes as sent (compressed when the request is).</summary>
    public ReadOnlyMemory<byte> Body => _body;

    /// <summary>Gzip of <paramref name="payload"/> at the fastest level: the forwarder's CPU is shared with the ingress.</summary>
    public static byte[] Gzip(ReadOnlySpan<byte> payload)
    {
        using var output = new MemoryStream(Math.Max(64, payload.Length / 3));
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(payload);
        }

        return output.ToArray();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await stream.WriteAsync(_body, cancellationToken);
        _sent?.Invoke(_body.Length, _uncompressed);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(_body.Span);
        _sent?.Invoke(_body.Length, _uncompressed);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }
}

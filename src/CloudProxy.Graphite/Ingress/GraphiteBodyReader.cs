using System.Buffers;
using System.IO.Compression;
using CloudProxy.Graphite.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CloudProxy.Graphite.Ingress;

/// <summary>A body that could not be read: the status to answer, the metric reason and the text for the client.</summary>
internal sealed record GraphiteBodyRefusal(int Status, string Reason, string Message);

/// <summary>
/// Reads an ingest body into plaintext. polymur-proxy sends one gzip stream WITHOUT Content-Encoding, so a
/// body is gunzipped when it says <c>Content-Encoding: gzip</c> or starts with the gzip magic; otherwise it
/// is plain text only when it says <c>Content-Type: text/plain</c>, and anything else is refused (polymur
/// panics there). Both limits hold while streaming: the compressed size through Kestrel's body limit, the
/// decompressed size by stopping the inflater one byte past MaxDecompressedBytes (so a bomb costs at most
/// that much memory).
/// </summary>
internal static class GraphiteBodyReader
{
    public static async Task<(GraphitePooledBuffer? Text, GraphiteBodyRefusal? Refusal)> ReadAsync(
        HttpContext context, long maxBodyBytes, long maxDecompressedBytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is { IsReadOnly: false })
        {
            limit.MaxRequestBodySize = maxBodyBytes;
        }

        if (request.ContentLength > maxBodyBytes)
        {
            return (null, TooLarge(maxBodyBytes));
        }

        string? encoding = request.Headers.ContentEncoding;
        var declaredGzip = encoding is not null && (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || encoding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase));
        if (!string.IsNullOrEmpty(encoding) && !declaredGzip && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return (null, new GraphiteBodyRefusal(StatusCodes.Status415UnsupportedMediaType, "unsupported_encoding",
                $"Batch Malformed: Content-Encoding '{encoding}' is not supported (send gzip or plain text)"));
        }

        // Sized by what arrives: a declared Content-Length is a claim, not bytes (64 connections may each declare 16 MB).
        var text = new GraphitePooledBuffer(request.ContentLength is { } length and < 64 * 1024 ? (int)length * 4 : 64 * 1024);
        try
        {
            var reader = request.BodyReader;
            var head = await reader.ReadAtLeastAsync(2, context.RequestAborted);
            var first = head.Buffer.Slice(0, Math.Min(2, head.Buffer.Length)).ToArray();
            reader.AdvanceTo(head.Buffer.Start);
            var gzip = first is [0x1f, 0x8b];
            if (declaredGzip && !gzip)
            {
                text.Dispose();
                return (null, NotGzip(first.Length == 0 ? "the body is empty" : "the body does not start with the gzip magic bytes"));
            }

            var isPlain = !gzip && (request.ContentType?.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase) ?? false);
            if (!gzip && !isPlain && first.Length > 0)
            {
                text.Dispose();
                return (null, NotGzip("the body is neither gzip (magic 1f 8b) nor declared Content-Type: text/plain"));
            }

            await using var body = reader.AsStream(leaveOpen: true);
            await using var source = gzip ? new GZipStream(body, CompressionMode.Decompress, leaveOpen: true) : body;
            var max = gzip ? maxDecompressedBytes : maxBodyBytes;
            while (true)
            {
                var room = (int)Math.Min(64 * 1024, max + 1 - text.Length);
                var read = await source.ReadAsync(text.GetMemory(room), context.RequestAborted);
                if (read == 0)
                {
                    break;
                }

                text.Advance(read);
                if (text.Length > max)
                {
                    text.Dispose();
                    return (null, gzip
                        ? new GraphiteBodyRefusal(StatusCodes.Status413PayloadTooLarge, "decompressed_too_large",
                            $"Batch Too Large: more than {maxDecompressedBytes} bytes once decompressed (CloudProxy:Graphite:Gateway:MaxDecompressedBytes)")
                        : TooLarge(maxBodyBytes));
                }
            }

            return (text, null);
        }
        catch (InvalidDataException ex)
        {
            text.Dispose();
            return (null, NotGzip($"the gzip stream is corrupt ({ex.Message})"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            text.Dispose();
            return (null, TooLarge(maxBodyBytes));
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }

    private static GraphiteBodyRefusal TooLarge(long max) => new(StatusCodes.Status413PayloadTooLarge, "body_too_large",
        $"Batch Too Large: the body is larger than {max} bytes (CloudProxy:Graphite:Gateway:MaxBodyBytes)");

    private static GraphiteBodyRefusal NotGzip(string why) => new(StatusCodes.Status400BadRequest, "malformed", $"Batch Malformed: {why}");
}

using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CloudProxy.Sentry.Protocol;

internal enum SentryBodyStatus
{
    Ok = 0,

    /// <summary>The decompressed body passed the limit: 413. Reading stopped there, so a bomb costs nothing more.</summary>
    TooLarge = 1,

    /// <summary>A Content-Encoding this proxy does not read: 415.</summary>
    UnsupportedEncoding = 2,

    /// <summary>The body does not decompress (bad gzip, truncated stream): 400.</summary>
    Corrupt = 3,

    /// <summary>The client went away mid-body.</summary>
    Aborted = 4,
}

/// <summary>
/// Reads a request body, decompressing gzip, deflate (zlib or raw), br and zstd as it streams, into one array
/// of exactly the decompressed size. The limit is enforced on decompressed bytes while reading, so a
/// decompression bomb is stopped after <c>limit</c> bytes; memory grows with the bytes that arrive, in small
/// pooled chunks, never with what Content-Length declares. A compressed stream that ends early is corrupt
/// (400): the host runs with <c>System.IO.Compression.UseStrictValidation</c>, without which .NET reads a
/// truncated gzip, deflate or br stream as a shorter complete one. An empty, <c>identity</c> or <c>UTF-8</c>
/// Content-Encoding (some SDKs send the charset there) means the body is as is.
/// </summary>
internal static class SentryBodyReader
{
    public static async ValueTask<(SentryBodyStatus Status, byte[] Body, string? Error)> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // Kestrel's default (30 MB) would cut large envelopes; our own limit applies to what we read.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        try
        {
            if (IsIdentity(encoding))
            {
                // The declared length is only checked, never allocated: a client that declares 100 MB and sends
                // 20 bytes costs what it sent. Kestrel ends the body at Content-Length and fails a short one.
                if (request.ContentLength is { } length && length > limit)
                {
                    return (SentryBodyStatus.TooLarge, [], $"body of {length} bytes is larger than the {limit}-byte limit");
                }

                return await ReadLimitedAsync(request.Body, limit, cancellationToken);
            }

            // Disposed by the await using below (the analyzer does not follow a switch expression).
#pragma warning disable CA2000
            Stream? decoder = encoding.ToLowerInvariant() switch
            {
                "gzip" or "x-gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
                "br" => new BrotliStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
                "zstd" => new ZstdSharp.DecompressionStream(request.Body, leaveOpen: true),
                "deflate" => await DeflateDecoderAsync(request, cancellationToken),
                _ => null,
            };
#pragma warning restore CA2000
            if (decoder is null)
            {
                return (SentryBodyStatus.UnsupportedEncoding, [], $"Content-Encoding '{encoding}' is not supported (gzip, deflate, br, zstd)");
            }

            await using (decoder)
            {
                return await ReadLimitedAsync(decoder, limit, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdSharp.ZstdException || (ex is InvalidOperationException && !IsIdentity(encoding)))
        {
            return (SentryBodyStatus.Corrupt, [], $"body does not decompress as {encoding}: {ex.Message}");
        }
        catch (EndOfStreamException) when (!IsIdentity(encoding))
        {
            // The request body ended (Kestrel checks it against Content-Length) before the compressed stream did.
            return (SentryBodyStatus.Corrupt, [], $"body does not decompress as {encoding}: the compressed stream is truncated");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (SentryBodyStatus.TooLarge, [], $"body is larger than the {limit}-byte limit");
        }
        catch (EndOfStreamException)
        {
            return (SentryBodyStatus.Aborted, [], "the body ended before Content-Length bytes");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return (SentryBodyStatus.Aborted, [], "the client went away while sending the body");
        }
    }

    public static bool IsIdentity(string encoding) =>
        encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase) || encoding.Equals("UTF-8", StringComparison.OrdinalIgnoreCase);

    /// <summary>HTTP "deflate" is zlib (RFC 1950), but some clients send raw deflate: look at the first two bytes.</summary>
    private static async ValueTask<Stream> DeflateDecoderAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var head = new byte[2];
        var read = 0;
        while (read < 2)
        {
            var n = await request.Body.ReadAsync(head.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var zlib = read == 2 && (head[0] & 0x0F) == 8 && ((head[0] << 8) | head[1]) % 31 == 0;
        Stream source = new PrefixedStream(head.AsMemory(0, read), request.Body);
        return zlib
            ? new ZLibStream(source, CompressionMode.Decompress, leaveOpen: false)
            : new DeflateStream(source, CompressionMode.Decompress, leaveOpen: false);
    }

    private static async ValueTask<(SentryBodyStatus, byte[], string?)> ReadLimitedAsync(Stream source, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new SentryBodyBuffer();
        while (true)
        {
            // Never ask for more than one byte past the limit: that byte alone proves it too large.
            var memory = buffer.GetMemory();
            var want = (int)Math.Min(memory.Length, limit + 1 - buffer.Length);
            var n = await source.ReadAsync(memory[..want], cancellationToken);
            if (n == 0)
            {
                return (SentryBodyStatus.Ok, buffer.ToArray(), null);
            }

            buffer.Advance(n);
            if (buffer.Length > limit)
            {
                return (SentryBodyStatus.TooLarge, [], $"decompressed body is larger than the {limit}-byte limit");
            }
        }
    }

    /// <summary>Replays bytes already read from the front of a stream, then the stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.Length > 0)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return await inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous reads are not allowed");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

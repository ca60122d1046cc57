using CloudProxy.Core.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CloudProxy.StatsD.Ingress;

/// <summary>A request body read whole into a pooled buffer, bounded by MaxBodyBytes.</summary>
internal sealed class StatsDBody : IDisposable
{
    private byte[] _buffer;

    private StatsDBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>Applies the body limit to the server too, so Kestrel stops reading past it.</summary>
    public static void LimitBody(HttpContext context, long maxBodyBytes)
    {
        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = maxBodyBytes;
        }
    }

    /// <summary>Null when the body is longer than <paramref name="maxBodyBytes"/>.</summary>
    public static async ValueTask<StatsDBody?> ReadAsync(HttpRequest request, int maxBodyBytes, CancellationToken cancellationToken)
    {
        // Sized by what arrives, not by what Content-Length declares (a client may declare 1 MB and send 20 bytes).
        var initial = request.ContentLength is { } length and <= int.MaxValue ? (int)Math.Min(length, 16 * 1024) + 1 : 4096;
        var buffer = BodyArrayPool.Rent(Math.Max(initial, 256));
        var total = 0;
        try
        {
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (total > maxBodyBytes)
                    {
                        BodyArrayPool.Return(buffer);
                        return null;
                    }

                    var bigger = BodyArrayPool.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, total).CopyTo(bigger);
                    BodyArrayPool.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch
        {
            BodyArrayPool.Return(buffer);
            throw;
        }

        if (total > maxBodyBytes)
        {
            BodyArrayPool.Return(buffer);
            return null;
        }

        return new StatsDBody(buffer, total);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            BodyArrayPool.Return(buffer);
        }
    }
}

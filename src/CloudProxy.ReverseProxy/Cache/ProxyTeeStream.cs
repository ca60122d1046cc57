using System.Buffers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>
/// Wraps the response body: every write goes straight to the client (streaming is untouched) and is also
/// copied into a buffer (when the headers allow storing it at all), until the buffer would pass the entry size limit, when copying stops for good.
/// </summary>
public sealed class ProxyTeeStream(Stream inner, long limit, Func<bool> worthCopying) : Stream
{
    private ArrayBufferWriter<byte>? _copy = new();
    private bool _decided;

    /// <summary>The whole body, or null when it was larger than the limit.</summary>
    public ReadOnlyMemory<byte>? Captured => _copy?.WrittenMemory;

    public long BytesWritten { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Copy(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Copy(ReadOnlySpan<byte> data)
    {
        BytesWritten += data.Length;

        // The response headers are final at the first body write: a response that will not be stored is not copied.
        if (!_decided)
        {
            _decided = true;
            if (!worthCopying())
            {
                _copy = null;
            }
        }

        if (_copy is null)
        {
            return;
        }

        if (_copy.WrittenCount + data.Length > limit)
        {
            _copy = null;
            return;
        }

        data.CopyTo(_copy.GetSpan(data.Length));
        _copy.Advance(data.Length);
    }
}

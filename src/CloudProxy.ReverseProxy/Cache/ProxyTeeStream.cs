using System.Buffers;

namespace CloudProxy.ReverseProxy.Cache;

/// <summary>What to do with a response body, decided once its head is final (at the first write or flush).</summary>
internal enum TeeDecision
{
    /// <summary>To the client, and copied aside to be stored.</summary>
    PassAndCopy = 0,

    /// <summary>To the client only.</summary>
    Pass = 1,

    /// <summary>Nowhere: the proxy answers from a stored entry instead (a 304 for its own validators, a 5xx it covers with stale).</summary>
    Swallow = 2,
}

/// <summary>
/// Wraps the response body: the head is judged once it is final (the first write or flush, or the end for a
/// body-less answer), then every write goes straight to the client (streaming is untouched) and is also copied
/// into a buffer when it is to be stored, until the buffer would pass the entry size limit, when copying stops
/// for good; or, when the proxy will answer from its cache instead, nothing reaches the client at all (the
/// response has not started, so it can still be replaced).
/// </summary>
internal sealed class ProxyTeeStream(Stream inner, long limit, Func<TeeDecision> decide) : Stream
{
    private ArrayBufferWriter<byte>? _copy = new();
    private TeeDecision? _decision;

    /// <summary>The whole body, or null when it was not copied or was larger than the limit.</summary>
    public ReadOnlyMemory<byte>? Captured => _decision == TeeDecision.PassAndCopy ? _copy?.WrittenMemory : null;

    public long BytesWritten { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>The decision, made now if no write or flush made it yet (a response without a body).</summary>
    public TeeDecision Decide()
    {
        _decision ??= decide();
        if (_decision != TeeDecision.PassAndCopy)
        {
            _copy = null;
        }

        return _decision.Value;
    }

    // Kestrel and YARP write asynchronously; a synchronous caller (AllowSynchronousIO) still gets a whole copy.
#pragma warning disable RS0030
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
#pragma warning restore RS0030

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Decide() == TeeDecision.Swallow)
        {
            return;
        }

        Copy(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush()
    {
        if (Decide() != TeeDecision.Swallow)
        {
            inner.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        Decide() == TeeDecision.Swallow ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Copy(ReadOnlySpan<byte> data)
    {
        BytesWritten += data.Length;
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

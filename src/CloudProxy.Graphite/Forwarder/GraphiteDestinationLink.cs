using System.Net.Sockets;
using System.Threading.Channels;
using CloudProxy.Core.Logging;
using CloudProxy.Graphite.Protocol;
using Microsoft.Extensions.Logging;

namespace CloudProxy.Graphite.Forwarder;

/// <summary>
/// Everything for one carbon destination: a queue bounded in points, one persistent TCP connection with
/// reconnect and exponential backoff, and a disk spool. While the destination is down (or the queue is full)
/// blocks go to the spool; once it is back the spool is replayed at ReplayPointsPerSecond beside live
/// traffic. When a connection fails, the block being written and the last ResendWindowBytes written are
/// spooled again, because TCP cannot tell which of them carbon read. An offer completes only once its block
/// is written to the socket or to the spool, so the forwarder never answers Success for points that a crash
/// of this process could still lose.
/// </summary>
internal sealed partial class GraphiteDestinationLink : IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(100);

    private readonly Channel<Block> _queue =
        Channel.CreateUnbounded<Block>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Queue<(ReadOnlyMemory<byte> Data, int Points)> _window = new();
    private readonly GraphiteForwarderOptions _options;
    private readonly GraphiteForwarderMetrics.Destination _metrics;
    private readonly GraphiteDestinationSpool _spool;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogThrottle _connectedLog;
    private readonly LogThrottle _connectFailedLog;
    private readonly LogThrottle _sendFailedLog;
    private readonly LogThrottle _spoolFullLog;
    private readonly LogThrottle _lostLog;
    private long _queuedPoints;
    private long _windowBytes;
    private volatile bool _down;
    private volatile bool _closed;
    private Socket? _socket;
    private CancellationTokenSource? _connection;
    private TimeSpan _backoff = FirstBackoff;
    private double _allowance;
    private long _lastRefill;

    public GraphiteDestinationLink(GraphiteDestination destination, GraphiteForwarderOptions options, GraphiteForwarderMetrics metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        Destination = destination;
        _options = options;
        _metrics = metrics.For(destination.Name);
        _time = time;
        _logger = logger;
        _connectedLog = new LogThrottle(time);
        _connectFailedLog = new LogThrottle(time);
        _sendFailedLog = new LogThrottle(time);
        _spoolFullLog = new LogThrottle(time);
        _lostLog = new LogThrottle(time);
        var file = string.Concat(destination.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_')) + ".db";
        _spool = new GraphiteDestinationSpool(Path.Combine(options.SpoolDirectory, file), options.SpoolMaxBytes);
        _metrics.SpoolPoints.Set(_spool.Points);
        if (_spool.Points > 0)
        {
            Log.SpoolOpened(logger, destination.Name, _spool.Points);
        }
    }

    public GraphiteDestination Destination { get; }

    public long QueuedPoints => Interlocked.Read(ref _queuedPoints);

    public long SpooledPoints => _spool.Points;

    public bool Connected => _socket is not null && !_down;

    /// <summary>
    /// Takes a block of lines: queued for the connection, else spooled. Completes true once the block is written
    /// to the socket or to the spool; false only when it is neither (the spool is full): the caller retries.
    /// </summary>
    public Task<bool> OfferAsync(ReadOnlyMemory<byte> data, int points)
    {
        if (!_down)
        {
            var block = new Block(data, points);
            if (Interlocked.Add(ref _queuedPoints, points) <= _options.QueuePoints && _queue.Writer.TryWrite(block))
            {
                // The loop has ended (shutdown: the outbox drains after the forwarder stopped): spool it now.
                if (_closed)
                {
                    MoveQueueToSpool("shutdown");
                }

                return block.Done.Task;
            }

            Interlocked.Add(ref _queuedPoints, -points);
        }

        return Task.FromResult(Spool(data.Span, points, _down ? "down" : "queue_full"));
    }

    /// <summary>The connection loop; runs until <paramref name="stop"/>, then spools what is still queued.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        _lastRefill = _time.GetTimestamp();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_socket is null && !await ConnectAsync(stop))
                {
                    _down = true;
                    MoveQueueToSpool("down");
                    await Task.Delay(_backoff, _time, stop);
                    _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, TimeSpan.FromSeconds(_options.MaxBackoffSeconds).Ticks));
                    continue;
                }

                if (_connection is { IsCancellationRequested: true })
                {
                    // carbon closed or reset an idle connection: respool what it may not have read, reconnect now.
                    Fail();
                    continue;
                }

                if (_queue.Reader.TryRead(out var block))
                {
                    Interlocked.Add(ref _queuedPoints, -block.Points);
                    if (await SendAsync(block.Data, stop))
                    {
                        _metrics.Sent.Inc(block.Points);
                        Remember((block.Data, block.Points));
                        block.Done.TrySetResult(true);
                    }
                    else
                    {
                        block.Done.TrySetResult(Spool(block.Data.Span, block.Points, "send_failed"));
                        Fail();
                    }

                    continue;
                }

                if (_spool.Points > 0 && await ReplayAsync(stop))
                {
                    continue;
                }

                await WaitForWorkAsync(stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            _closed = true;
            _down = true;
            Close();
            MoveQueueToSpool("shutdown");
        }
    }

    public void Dispose()
    {
        Close();
        _spool.Dispose();
    }

    /// <summary>Sends spooled blocks within the replay budget; true when it sent something.</summary>
    private async Task<bool> ReplayAsync(CancellationToken stop)
    {
        var now = _time.GetTimestamp();
        var rate = (double)_options.ReplayPointsPerSecond;
        _allowance = Math.Min(rate, _allowance + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * rate));
        _lastRefill = now;
        if (_allowance < 1)
        {
            return false;
        }

        var sent = false;
        foreach (var chunk in _spool.ReadOldest((int)Math.Max(1, _allowance)))
        {
            if (!await SendAsync(chunk.Data, stop))
            {
                Fail();
                return true;
            }

            _spool.Delete(chunk);
            _metrics.Sent.Inc(chunk.Points);
            _metrics.Replayed.Inc(chunk.Points);
            _metrics.SpoolPoints.Set(_spool.Points);
            _allowance -= chunk.Points;
            Remember((chunk.Data, chunk.Points));
            sent = true;
        }

        return sent;
    }

    private async Task WaitForWorkAsync(CancellationToken stop)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stop);
        poll.CancelAfter(IdlePoll);
        try
        {
            await _queue.Reader.WaitToReadAsync(poll.Token);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> ConnectAsync(CancellationToken stop)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds));
            await socket.ConnectAsync(Destination.Host, Destination.Port, timeout.Token);

            // A local destination that is down, on a port in the ephemeral range, can be "reached" by TCP
            // simultaneous open: the socket connects to itself and would swallow everything written.
            if (Equals(socket.LocalEndPoint, socket.RemoteEndPoint))
            {
                throw new SocketException((int)SocketError.ConnectionRefused);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !stop.IsCancellationRequested)
        {
            socket.Dispose();
            if (_connectFailedLog.ShouldLog(out var failures))
            {
                Log.ConnectFailed(_logger, Destination.Name, failures, ex.Message);
            }

            return false;
        }

        _socket = socket;
        _connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _down = false;
        _backoff = FirstBackoff;
        _metrics.Connects.Inc();
        _metrics.Connected.Set(1);
        if (_connectedLog.ShouldLog(out var connects))
        {
            Log.Connected(_logger, Destination.Name, connects, _spool.Points);
        }

        // The watcher's whole purpose is to see this socket close (or its token cancelled) and end with it.
#pragma warning disable CA2025
        _ = WatchAsync(socket, _connection);
#pragma warning restore CA2025
        return true;
    }

    /// <summary>carbon never writes back: a read that ends means the peer closed, so stop writing at once.</summary>
    private static async Task WatchAsync(Socket socket, CancellationTokenSource connection)
    {
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, connection.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        try
        {
            await connection.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task<bool> SendAsync(ReadOnlyMemory<byte> data, CancellationToken stop)
    {
        var socket = _socket;
        var connection = _connection;
        if (socket is null || connection is null || connection.IsCancellationRequested)
        {
            return false;
        }

        try
        {
            connection.CancelAfter(SendTimeout);
            while (!data.IsEmpty)
            {
                var sent = await socket.SendAsync(data, SocketFlags.None, connection.Token);
                data = data[sent..];
            }

            connection.CancelAfter(Timeout.InfiniteTimeSpan);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException && !stop.IsCancellationRequested)
        {
            if (_sendFailedLog.ShouldLog(out var failures))
            {
                Log.SendFailed(_logger, Destination.Name, failures, ex.Message);
            }

            return false;
        }
    }

    private void Remember((ReadOnlyMemory<byte> Data, int Points) block)
    {
        _window.Enqueue(block);
        _windowBytes += block.Data.Length;
        while (_windowBytes > _options.ResendWindowBytes && _window.Count > 1)
        {
            _windowBytes -= _window.Dequeue().Data.Length;
        }
    }

    /// <summary>The connection broke: what carbon may not have read goes back to the spool; reconnect later.</summary>
    private void Fail()
    {
        while (_window.TryDequeue(out var block))
        {
            Spool(block.Data.Span, block.Points, "resend");
        }

        _windowBytes = 0;
        _down = true;
        Close();
        MoveQueueToSpool("down");
    }

    private void Close()
    {
        _metrics.Connected.Set(0);
        var connection = _connection;
        _connection = null;
        try
        {
            connection?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        connection?.Dispose();
        _socket?.Dispose();
        _socket = null;
    }

    private void MoveQueueToSpool(string reason)
    {
        while (_queue.Reader.TryRead(out var block))
        {
            Interlocked.Add(ref _queuedPoints, -block.Points);
            var spooled = Spool(block.Data.Span, block.Points, reason);
            if (!spooled)
            {
                // Not spooled: the offer answers false and the envelope stays with the outbox (or deferral log).
                _metrics.Dropped(reason == "shutdown" ? "spool_full_at_shutdown" : "spool_full", block.Points);
                if (_lostLog.ShouldLog(out var blocks))
                {
                    Log.Lost(_logger, blocks, block.Points, Destination.Name);
                }
            }

            block.Done.TrySetResult(spooled);
        }
    }

    private bool Spool(ReadOnlySpan<byte> data, int points, string reason)
    {
        if (!_spool.TryAppend(data, points))
        {
            if (_spoolFullLog.ShouldLog(out var refused))
            {
                Log.SpoolFull(_logger, Destination.Name, refused, points);
            }

            return false;
        }

        _metrics.Spooled(reason, points);
        _metrics.SpoolPoints.Set(_spool.Points);
        return true;
    }

    /// <summary>A block of lines waiting for the connection, and who waits for it to be written.</summary>
    private sealed class Block(ReadOnlyMemory<byte> data, int points)
    {
        public ReadOnlyMemory<byte> Data { get; } = data;

        public int Points { get; } = points;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GraphiteEventIds.Connected, Level = LogLevel.Information, Message = "Connected to carbon at {Destination} ({Count} connection(s) since the last report); {Spooled} spooled points to replay")]
        public static partial void Connected(ILogger logger, string destination, long count, long spooled);

        [LoggerMessage(EventId = GraphiteEventIds.ConnectFailed, Level = LogLevel.Warning, Message = "Connecting to carbon at {Destination} failed {Count} time(s) since the last report, spooling meanwhile: {Error}")]
        public static partial void ConnectFailed(ILogger logger, string destination, long count, string error);

        [LoggerMessage(EventId = GraphiteEventIds.SendFailed, Level = LogLevel.Warning, Message = "Writing to carbon at {Destination} failed {Count} time(s) since the last report; the unconfirmed points are spooled: {Error}")]
        public static partial void SendFailed(ILogger logger, string destination, long count, string error);

        [LoggerMessage(EventId = GraphiteEventIds.SpoolFull, Level = LogLevel.Error, Message = "Spool of {Destination} is full: {Count} block(s) not taken since the last report (the last: {Points} points)")]
        public static partial void SpoolFull(ILogger logger, string destination, long count, int points);

        [LoggerMessage(EventId = GraphiteEventIds.SpoolOpened, Level = LogLevel.Information, Message = "Spool of {Destination} holds {Points} points to replay")]
        public static partial void SpoolOpened(ILogger logger, string destination, long points);

        [LoggerMessage(EventId = GraphiteEventIds.LostAtShutdown, Level = LogLevel.Critical, Message = "{Count} block(s) of queued points for {Destination} lost since the last report (the last: {Points} points): the spool is full")]
        public static partial void Lost(ILogger logger, long count, int points, string destination);
    }
}

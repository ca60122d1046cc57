// UDP sink for the StatsD benchmark. Listens on 127.0.0.1, counts datagrams, bytes and StatsD lines
// (split on '\n'), and prints JSON lines on stdout:
//   {"event":"listening","port":N,"rcvbuf":N}                    once bound
//   {"event":"snapshot",...}                                      on SIGHUP (keeps running)
//   {"event":"final",...}                                         on SIGINT/SIGTERM, or after --idle-timeout
// Usage: UdpCounter [--port 0] [--idle-timeout SECONDS] [--rcvbuf BYTES]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

var port = 0;
var idleTimeout = TimeSpan.Zero; // zero: no idle timeout
var rcvbuf = 16 * 1024 * 1024;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port": port = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--idle-timeout": idleTimeout = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
        case "--rcvbuf": rcvbuf = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: UdpCounter [--port N] [--idle-timeout SECONDS] [--rcvbuf BYTES]");
            return 2;
    }
}

using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
socket.ReceiveBufferSize = rcvbuf;
if (OperatingSystem.IsLinux())
{
    // SO_RCVBUFFORCE (33) goes past net.core.rmem_max when we may (root); without it a burst from the
    // forwarder can overflow the socket buffer and the loss would be the counter's, not the proxy's.
    try { socket.SetRawSocketOption(1, 33, BitConverter.GetBytes(rcvbuf)); }
    catch (SocketException) { }
}
socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
var bound = ((IPEndPoint)socket.LocalEndPoint!).Port;

var counts = new Counts();
using var stop = new CancellationTokenSource();
void Print(string kind) => Console.Out.WriteLine(counts.ToJson(kind));

using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; Print("snapshot"); });

Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"event\":\"listening\",\"port\":{bound},\"rcvbuf\":{socket.ReceiveBufferSize}}}"));

var buffer = new byte[65536];
var lastActivity = Stopwatch.GetTimestamp();
while (!stop.IsCancellationRequested)
{
    if (!socket.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
    {
        if (idleTimeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(lastActivity) >= idleTimeout)
        {
            break;
        }

        continue;
    }

    var n = socket.Receive(buffer);
    counts.Add(buffer.AsSpan(0, n));
    lastActivity = Stopwatch.GetTimestamp();
}

Print("final");
return 0;

internal sealed class Counts
{
    private long _datagrams;
    private long _bytes;
    private long _lines;
    private long _maxDatagram;

    public void Add(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return;
        }

        // Lines are '\n'-separated; the last one may or may not end with '\n'.
        var lines = datagram.Count((byte)'\n') + (datagram[^1] == (byte)'\n' ? 0 : 1);
        Interlocked.Increment(ref _datagrams);
        Interlocked.Add(ref _bytes, datagram.Length);
        Interlocked.Add(ref _lines, lines);
        if (datagram.Length > Volatile.Read(ref _maxDatagram))
        {
            Volatile.Write(ref _maxDatagram, datagram.Length);
        }
    }

    public string ToJson(string kind) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"event\":\"{kind}\",\"datagrams\":{Volatile.Read(ref _datagrams)},\"lines\":{Volatile.Read(ref _lines)},\"bytes\":{Volatile.Read(ref _bytes)},\"maxDatagram\":{Volatile.Read(ref _maxDatagram)}}}");
}

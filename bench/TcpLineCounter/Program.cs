using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

// Listens on 127.0.0.1 (port 0 or argv[0]), prints {"port":N}, then on every SIGHUP prints
// {"lines":N,"bytes":N,"connections":N}: the newline count of everything received on all connections.
long lines = 0;
long bytes = 0;
long connections = 0;
var listener = new TcpListener(IPAddress.Loopback, args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 0);
listener.Start();
Console.Out.WriteLine($"{{\"port\":{((IPEndPoint)listener.LocalEndpoint).Port}}}");
Console.Out.Flush();
using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
{
    context.Cancel = true;
    Console.Out.WriteLine($"{{\"lines\":{Interlocked.Read(ref lines)},\"bytes\":{Interlocked.Read(ref bytes)},\"connections\":{Interlocked.Read(ref connections)}}}");
    Console.Out.Flush();
});

while (true)
{
    var socket = await listener.AcceptSocketAsync();
    Interlocked.Increment(ref connections);
    _ = Task.Run(async () =>
    {
        var buffer = new byte[256 * 1024];
        using (socket)
        {
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    Interlocked.Add(ref lines, buffer.AsSpan(0, read).Count((byte)'\n'));
                    Interlocked.Add(ref bytes, read);
                }
            }
            catch (SocketException)
            {
            }
        }
    });
}

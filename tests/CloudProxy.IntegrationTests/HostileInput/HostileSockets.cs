using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>Requests written byte by byte on a socket: what HttpClient would refuse to send.</summary>
internal static class HostileSockets
{
    /// <summary>Sends <paramref name="raw"/> on a fresh connection and reads until the peer closes or goes quiet; the first status and all the text.</summary>
    public static async Task<(int Status, string Text)> SendRawAsync(Uri target, string raw)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(target.Host, target.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(raw));
        var text = new StringBuilder();
        var buffer = new byte[8192];
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            // Until the server closes, or the first answer is complete (a server may keep the connection open).
            int read;
            while (!Complete(text) && (read = await stream.ReadAsync(buffer, quiet.Token)) > 0)
            {
                text.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }

        var all = text.ToString();
        var status = all.StartsWith("HTTP/1.", StringComparison.Ordinal) && all.Length >= 12
            ? int.Parse(all.AsSpan(9, 3), CultureInfo.InvariantCulture)
            : 0;
        return (status, all);
    }

    private static bool Complete(StringBuilder text)
    {
        var all = text.ToString();
        var end = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var length = System.Text.RegularExpressions.Regex.Match(all[..end], @"(?im)^content-length:\s*(\d+)");
        return length.Success && all.Length - end - 4 >= int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Opens <paramref name="load"/>.Connections connections, each declaring a body of DeclaredBytes and sending
    /// SendBytes of it, and keeps them open until disposed: what makes a server that allocates the declared
    /// length up front run out of memory.
    /// </summary>
    public static async Task<HeldBodies> HoldDeclaredBodiesAsync(Uri target, HostileLoad load, Func<string, string> expand)
    {
        var clients = new List<TcpClient>();
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"POST {expand(load.Path)} HTTP/1.1\r\nHost: {target.Authority}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {load.DeclaredBytes}\r\n");
        foreach (var (name, value) in load.Headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {expand(value)}\r\n");
        }

        var bytes = Encoding.Latin1.GetBytes(head.Append("\r\n").ToString() + new string('{', load.SendBytes));
        for (var i = 0; i < load.Connections; i++)
        {
            var client = new TcpClient();
            clients.Add(client);
            await client.ConnectAsync(target.Host, target.Port);
            await client.GetStream().WriteAsync(bytes);
        }

        return new HeldBodies(clients);
    }

    /// <summary>Connections with a body still owed to the server.</summary>
    public sealed class HeldBodies(List<TcpClient> clients) : IAsyncDisposable
    {
        /// <summary>
        /// How many of them the server failed with a 5xx although their bodies are incomplete: a server that
        /// reads as bytes arrive waits (or, past Kestrel's minimum data rate, times them out with a 4xx); one
        /// that allocated the declared length up front fails them when memory runs out.
        /// </summary>
        public int Failed()
        {
            var failed = 0;
            foreach (var client in clients)
            {
                if (client.Available > 0)
                {
                    var buffer = new byte[Math.Min(client.Available, 64)];
                    var read = client.Client.Receive(buffer);
                    failed += Encoding.Latin1.GetString(buffer, 0, read).StartsWith("HTTP/1.1 5", StringComparison.Ordinal) ? 1 : 0;
                }
            }

            return failed;
        }

        public ValueTask DisposeAsync()
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}

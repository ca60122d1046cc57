using System.IO.Compression;
using System.Net.Sockets;

// POST /ingest: checks the X-Polymur-Key, gunzips the body and writes the bytes as they are to ONE
// persistent TCP connection to the sink (--sink-port). No validation, no queue, no spool, no metrics:
// what polymur-gateway does minus its drops, and the floor the real gateway is compared with.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var sinkPort = app.Configuration.GetValue<int>("sink-port");
var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
await socket.ConnectAsync("127.0.0.1", sinkPort);
var gate = new SemaphoreSlim(1, 1);
var ok = "Batch Received\n"u8.ToArray();

app.MapGet("/healthz", () => "ok");
app.MapPost("/ingest", async (HttpContext context) =>
{
    if (context.Request.Headers["X-Polymur-Key"] != "123")
    {
        context.Response.StatusCode = 401;
        return;
    }

    using var body = new MemoryStream();
    await using (var gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress))
    {
        await gzip.CopyToAsync(body);
    }

    await gate.WaitAsync();
    try
    {
        await socket.SendAsync(body.GetBuffer().AsMemory(0, (int)body.Length));
    }
    finally
    {
        gate.Release();
    }

    await context.Response.Body.WriteAsync(ok);
});
app.Run();

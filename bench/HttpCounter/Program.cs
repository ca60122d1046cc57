// An upstream that keeps up: every POST is read whole, counted (requests and body bytes) and answered
// 200 {"id":...} as Sentry does. GET /_count returns the counts as JSON. Used by bench/sentry/run.sh to
// measure the share of accepted events that were delivered, and stopped/started to watch the spool.
using System.Text.Json;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
long requests = 0, bytes = 0;
// DELAY_MS: a slow upstream (bench/durability/run.sh's memory phase): every answer waits this long first.
var delay = int.TryParse(Environment.GetEnvironmentVariable("DELAY_MS"), out var d) ? d : 0;
var reply = "{\"id\":\"00000000000000000000000000000000\"}"u8.ToArray();

app.MapGet("/_count", () => Results.Text(
    JsonSerializer.Serialize(new { requests = Interlocked.Read(ref requests), bytes = Interlocked.Read(ref bytes) }), "application/json"));
app.MapPost("/{**path}", async (HttpContext context) =>
{
    var buffer = new byte[16 * 1024];
    long read = 0;
    int n;
    while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
    {
        read += n;
    }

    if (delay > 0)
    {
        await Task.Delay(delay, context.RequestAborted);
    }

    Interlocked.Increment(ref requests);
    Interlocked.Add(ref bytes, read);
    context.Response.ContentType = "application/json";
    await context.Response.Body.WriteAsync(reply, context.RequestAborted);
});

app.Run();

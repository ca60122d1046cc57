// Baseline for the StatsD benchmark: an ASP.NET Core minimal API that does the irreducible part of
// statsd-http-proxy's POST /count/{key} (read the form body or query, parse value and sampleRate
// invariantly) and nothing else: no validation beyond parsing, no outbox, no UDP, no metrics.
// The benchmark reports the host's throughput as a ratio of this one, measured in the same run.
using System.Globalization;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();

app.MapGet("/heartbeat", () => Results.Text("OK"));

app.MapPost("/count/{key}", async (string key, HttpRequest request, CancellationToken ct) =>
{
    var form = request.HasFormContentType ? await request.ReadFormAsync(ct) : null;
    string? Param(string name) => form is not null && form.TryGetValue(name, out var v) ? v.ToString() : request.Query[name].ToString();

    var value = 1d;
    var sampleRate = 1d;
    var rawValue = Param("value");
    var rawRate = Param("sampleRate");
    if ((!string.IsNullOrEmpty(rawValue) && !double.TryParse(rawValue, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        || (!string.IsNullOrEmpty(rawRate) && !double.TryParse(rawRate, NumberStyles.Float, CultureInfo.InvariantCulture, out sampleRate))
        || key.Length == 0)
    {
        return Results.BadRequest();
    }

    return Results.Ok();
});

// Baseline for bench/sentry/run.sh (added for the Sentry module): read the whole envelope body, as any
// endpoint must, and answer Sentry's 200 {"id":...}; no auth, no decompression, no parsing, no outbox.
var sentryReply = "{\"id\":\"00000000000000000000000000000000\"}"u8.ToArray();
app.MapPost("/api/{project}/envelope/", async (HttpContext context) =>
{
    var buffer = new byte[16 * 1024];
    while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
    {
    }

    context.Response.ContentType = "application/json";
    await context.Response.Body.WriteAsync(sentryReply, context.RequestAborted);
});

app.Run();

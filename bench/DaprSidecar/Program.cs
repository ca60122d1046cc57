// The Dapr side of the benchmarks' Dapr topology: a real redis-server (RedisServer) and one daprd double
// (DaprSidecarDouble, configured as components/ and dapr.yaml configure daprd: DaprSidecarOptions.FromRepository)
// per app id given in --apps, all on 127.0.0.1. The double is the one the tests use, rebuilt from daprd's source:
// gRPC publish and bulk publish with CloudEvent wrapping, XADD to Redis Streams, consumer groups, XREADGROUP,
// daprd's default bulk subscriber and its deliveries to the app over HTTP.
//
// Control listener (HTTP/1.1 on --http-port):
//   GET  /_sidecars                      {"<app id>":"<gRPC endpoint>",...}
//   POST /_subscribe?app=ID&url=URL      what daprd does once the app answers: GET /dapr/subscribe, then deliveries
//   GET  /_count?topic=T                 {"entries_added":N,"length":N,"deliveries":N,"delivered_entries":N}
//                                        entries_added is Redis' own XINFO STREAM counter (every XADD ever made)
// Stopped by SIGTERM/SIGINT: the sidecars stop and redis-server (a child process) is killed by its pid.
using System.Globalization;
using System.Net;
using System.Text.Json;
using CloudProxy.Tests.Common.Dapr;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StackExchange.Redis;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var httpPort = int.Parse(builder.Configuration["http-port"] ?? "3600", CultureInfo.InvariantCulture);
var apps = (builder.Configuration["apps"] ?? "cloudproxy").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, httpPort, listen => listen.Protocols = HttpProtocols.Http1));

await using var redis = await RedisServer.StartAsync();
var sidecars = new Dictionary<string, DaprSidecarDouble>(StringComparer.Ordinal);
try
{
    foreach (var app in apps)
    {
        sidecars[app] = await DaprSidecarDouble.StartAsync(DaprSidecarOptions.FromRepository(redis, app) with { RecordCalls = false });
    }

    var web = builder.Build();
    web.MapGet("/_sidecars", () => Results.Text(
        JsonSerializer.Serialize(sidecars.ToDictionary(s => s.Key, s => s.Value.Endpoint.ToString())), "application/json"));
    web.MapPost("/_subscribe", async (string app, string url) =>
    {
        if (!sidecars.TryGetValue(app, out var sidecar))
        {
            return Results.NotFound($"no sidecar for app id '{app}'");
        }

        var topics = await sidecar.SubscribeAppAsync(new Uri(url));
        return Results.Text(JsonSerializer.Serialize(topics), "application/json");
    });
    web.MapGet("/_count", async (string topic) =>
    {
        long added = 0, length = 0;
        try
        {
            var info = (RedisResult[])(await redis.Database.ExecuteAsync("XINFO", "STREAM", topic))!;
            for (var i = 0; i + 1 < info.Length; i += 2)
            {
                switch ((string?)info[i])
                {
                    case "entries-added": added = (long)info[i + 1]; break;
                    case "length": length = (long)info[i + 1]; break;
                }
            }
        }
        catch (RedisServerException)
        {
            // ERR no such key: nothing published yet.
        }

        var deliveries = sidecars.Values.SelectMany(s => s.Deliveries).Where(d => d.Topic == topic).ToList();
        return Results.Text(JsonSerializer.Serialize(new
        {
            entries_added = added,
            length,
            deliveries = deliveries.Count,
            delivered_entries = deliveries.Where(d => d.Status is >= 200 and < 300).Sum(d => (long)d.Entries),
        }), "application/json");
    });
    await web.RunAsync();
}
finally
{
    foreach (var sidecar in sidecars.Values)
    {
        await sidecar.DisposeAsync();
    }
}

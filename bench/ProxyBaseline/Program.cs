// bench/proxy/run.sh's baselines, each the least ASP.NET Core can do for its job:
//   --mode bare --body-file F   GET /cached answers F's bytes (what a cache hit through the proxy answers)
//   --mode yarp --backend URL   YARP with one catch-all route to URL and no other feature
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var mode = builder.Configuration["mode"] ?? "bare";
if (mode == "yarp")
{
    var backend = builder.Configuration["backend"] ?? throw new InvalidOperationException("--backend is required with --mode yarp");
    builder.Services.AddReverseProxy().LoadFromMemory(
        [new RouteConfig { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "/{**catch-all}" } }],
        [new ClusterConfig { ClusterId = "backend", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = backend } } }]);
    var app = builder.Build();
    app.MapReverseProxy();
    app.Run();
}
else
{
    var body = await File.ReadAllBytesAsync(builder.Configuration["body-file"] ?? throw new InvalidOperationException("--body-file is required"));
    var app = builder.Build();
    app.MapGet("/cached", (HttpContext context) =>
    {
        context.Response.Headers.CacheControl = "max-age=600";
        return Results.Bytes(body, "text/plain");
    });
    app.MapGet("/healthz", () => "ok");
    app.Run();
}

// A minimal daprd stand-in for bench/sentry/run.sh (ingress-only phase): a gRPC server for the sidecar API
// from Dapr.Protos (service dapr.proto.runtime.v1.Dapr) over h2c that answers PublishEvent, BulkPublishEvent
// and BulkPublishEventAlpha1 with success and counts the envelopes (one per single publish, one per bulk
// entry whose event is a CloudProxy envelope, read off the wire by BulkPublishCounter), and GetState with "no such key". Every other RPC answers Unimplemented, as a sidecar without it would. GET /_count on the second,
// HTTP/1.1 listener returns the counts as JSON. Ports: --grpc-port and --http-port (127.0.0.1 only).
using System.Globalization;
using System.Net;
using System.Text.Json;
using CloudProxy.Bench.DaprSidecarStub;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var grpcPort = int.Parse(builder.Configuration["grpc-port"] ?? "50001", CultureInfo.InvariantCulture);
var httpPort = int.Parse(builder.Configuration["http-port"] ?? "3500", CultureInfo.InvariantCulture);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Listen(IPAddress.Loopback, httpPort, listen => listen.Protocols = HttpProtocols.Http1);
});
builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 64 * 1024 * 1024);
builder.Services.AddSingleton<PublishCounts>();
var app = builder.Build();
app.MapGrpcService<SidecarStubService>();
app.MapGet("/_count", (PublishCounts counts) => Results.Text(JsonSerializer.Serialize(counts.Snapshot()), "application/json"));
app.Run();

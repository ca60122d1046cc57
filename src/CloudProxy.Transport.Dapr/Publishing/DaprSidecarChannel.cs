using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Transport.Dapr.Publishing;

/// <summary>
/// The sidecar's gRPC API exactly as <c>Dapr.Protos</c> defines it. The publisher needs what
/// <c>DaprClient</c> does not offer: per-entry content types in a bulk publish, the stable
/// <c>BulkPublishEvent</c> RPC, and per-call metadata (trace context). Endpoint and API token are resolved
/// the way the SDK resolves them (<c>DAPR_GRPC_ENDPOINT</c>, <c>DAPR_GRPC_PORT</c>, <c>DAPR_API_TOKEN</c>).
/// </summary>
internal sealed class DaprSidecarChannel : IDisposable
{
    private const string ApiTokenHeader = "dapr-api-token";

    private readonly GrpcChannel _channel;
    private readonly string? _apiToken;

    public DaprSidecarChannel(string grpcEndpoint, string? apiToken, TimeSpan connectTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grpcEndpoint);
        Endpoint = new Uri(grpcEndpoint, UriKind.Absolute);
        _apiToken = string.IsNullOrEmpty(apiToken) ? null : apiToken;
        _channel = GrpcChannel.ForAddress(Endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = connectTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
            DisposeHttpClient = true,
            ThrowOperationCanceledOnCancellation = true,
        });
        Invoker = _channel.CreateCallInvoker();
        Client = new Autogen.Dapr.DaprClient(Invoker);
    }

    public Uri Endpoint { get; }

    internal Autogen.Dapr.DaprClient Client { get; }

    /// <summary>For calls with marshallers of our own (<see cref="BulkPublishWire"/>).</summary>
    internal CallInvoker Invoker { get; }

    /// <summary>Builds the channel from configuration (environment variables included), as the Dapr SDK does.</summary>
    public static DaprSidecarChannel FromConfiguration(IConfiguration configuration, TimeSpan connectTimeout) =>
        new(global::Dapr.DaprDefaults.GetDefaultGrpcEndpoint(configuration),
            global::Dapr.DaprDefaults.GetDefaultDaprApiToken(configuration),
            connectTimeout);

    /// <summary>Call metadata carrying the API token and, when given, the W3C trace context.</summary>
    internal Metadata CreateHeaders(string? traceParent, string? traceState)
    {
        var headers = new Metadata();
        if (_apiToken is not null)
        {
            headers.Add(ApiTokenHeader, _apiToken);
        }

        if (traceParent is not null)
        {
            headers.Add("traceparent", traceParent);
            if (!string.IsNullOrEmpty(traceState))
            {
                headers.Add("tracestate", traceState);
            }
        }

        return headers;
    }

    public void Dispose() => _channel.Dispose();
}

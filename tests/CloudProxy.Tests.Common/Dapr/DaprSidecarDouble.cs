using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Dapr.Client;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>Which bulk publish RPCs the double answers (the others answer Unimplemented, as an older daprd does).</summary>
public enum SidecarBulkSupport
{
    /// <summary>Both <c>BulkPublishEvent</c> and <c>BulkPublishEventAlpha1</c> (a current daprd).</summary>
    StableAndAlpha1 = 0,

    /// <summary>Only <c>BulkPublishEventAlpha1</c>.</summary>
    Alpha1Only = 1,

    /// <summary>No bulk publish at all.</summary>
    None = 2,
}

/// <summary>One <c>PublishEvent</c> call as the sidecar received it.</summary>
public sealed record RecordedPublish(
    string PubsubName,
    string Topic,
    string DataContentType,
    byte[] Data,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>One entry of a bulk publish call.</summary>
public sealed record RecordedBulkEntry(string EntryId, string ContentType, byte[] Event, IReadOnlyDictionary<string, string> Metadata);

/// <summary>One <c>BulkPublishEvent</c> / <c>BulkPublishEventAlpha1</c> call as the sidecar received it.</summary>
public sealed record RecordedBulkPublish(
    string Rpc,
    string PubsubName,
    string Topic,
    IReadOnlyList<RecordedBulkEntry> Entries,
    IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>
/// The one test double of the Dapr path: daprd, rebuilt from its source (dapr/dapr@d8450742,
/// dapr/components-contrib@c23900d2), for what CloudProxy uses of it. Each concern is a file of its own:
/// <see cref="DaprSidecarApi"/> (the gRPC API: publish, bulk publish, state; CloudEvent wrapping in
/// <see cref="DaprCloudEvents"/>), <see cref="RedisStreamsBroker"/> (pubsub.redis over a real redis-server),
/// <see cref="DaprSubscriber"/> (deliveries to the app over HTTP, single and default-bulk), and
/// <see cref="DaprPolicyRunner"/> (the Resiliency policies). Defaults are daprd's; <see cref="DaprSidecarOptions.FromRepository"/>
/// configures it as components/ and dapr.yaml configure daprd. Faults a test can inject: the API answering
/// Unavailable, the sidecar stopped and started again (<see cref="StopAsync"/>), the component refusing chosen
/// messages (<see cref="PublishFault"/>), and Redis itself stopped (<see cref="RedisServer.StopAsync"/>).
/// </summary>
public sealed class DaprSidecarDouble : IAsyncDisposable
{
    private readonly ConcurrentQueue<RecordedPublish> _publishes = new();
    private readonly ConcurrentQueue<RecordedBulkPublish> _bulkPublishes = new();
    private readonly List<DaprSubscriber> _subscribers = [];
    private readonly Lock _breakerLock = new();
    private CircuitBreaker? _breaker;
    private WebApplication? _app;
    private int _port;
    private Uri? _appAddress;

    private DaprSidecarDouble(DaprSidecarOptions options)
    {
        Options = options;
    }

    public DaprSidecarOptions Options { get; }

    public Uri Endpoint { get; private set; } = null!;

    public string AppId => Options.AppId;

    public RedisServer? Redis => Options.Redis;

    /// <summary>The pub/sub component; null when no Redis was given (then publishing answers "pubsub not found").</summary>
    public RedisStreamsBroker? Broker { get; private set; }

    /// <summary>Every call answers Unavailable, as a sidecar that is starting or shutting down does.</summary>
    public bool Unavailable { get; set; }

    public SidecarBulkSupport BulkSupport { get; set; }

    /// <summary>
    /// The component refuses a message when this returns an error text (a broker that rejects it, e.g. too large
    /// for Kafka, or a Redis that answers an error). daprd retries it per the outbound policy and then answers
    /// Internal; for a bulk publish the whole request fails with an empty response.
    /// </summary>
    public Func<ComponentPublish, string?>? PublishFault { get; set; }

    public IReadOnlyList<RecordedPublish> Publishes => [.. _publishes];

    public IReadOnlyList<RecordedBulkPublish> BulkPublishes => [.. _bulkPublishes];

    /// <summary>Every delivery made to the app, in order (bulk ones with their entry count and body size).</summary>
    public IReadOnlyList<DaprDelivery> Deliveries
    {
        get
        {
            lock (_subscribers)
            {
                return [.. _subscribers.SelectMany(s => s.Deliveries)];
            }
        }
    }

    internal DaprPolicyRunner Outbound => new(Options.PubSubOutbound, BreakerFor(Options.PubSubOutbound));

    /// <summary>Starts a daprd-default sidecar; with <paramref name="redis"/> it loads the pub/sub and the state stores.</summary>
    public static Task<DaprSidecarDouble> StartAsync(RedisServer? redis = null, string appId = "cloudproxy-test", params string[] stateStores) =>
        StartAsync(new DaprSidecarOptions
        {
            Redis = redis,
            AppId = appId,
            StateStores = stateStores.Length == 0 ? ["statestore"] : stateStores,
        });

    public static async Task<DaprSidecarDouble> StartAsync(DaprSidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sidecar = new DaprSidecarDouble(options);
        await sidecar.StartServerAsync();
        return sidecar;
    }

    /// <summary>
    /// What daprd does once the app port answers: <c>GET /dapr/subscribe</c>, then deliveries of every subscription on
    /// this sidecar's pub/sub to <paramref name="app"/>. Returns the topics subscribed.
    /// </summary>
    public async Task<IReadOnlyList<string>> SubscribeAppAsync(Uri app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var broker = Broker ?? throw new InvalidOperationException("the sidecar has no pub/sub: start it with a RedisServer");
        _appAddress = app;
        var subscriber = new DaprSubscriber(broker, new DaprPolicyRunner(Options.PubSubInbound, BreakerFor(Options.PubSubInbound)), Options.PubSubName, app);
        lock (_subscribers)
        {
            _subscribers.Add(subscriber);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await subscriber.StartAsync(timeout.Token);
    }

    /// <summary>The sidecar goes away: API closed, deliveries stopped mid-flight (nothing in flight is acknowledged).</summary>
    public async Task StopAsync()
    {
        List<DaprSubscriber> subscribers;
        lock (_subscribers)
        {
            subscribers = [.. _subscribers];
            _subscribers.Clear();
        }

        foreach (var subscriber in subscribers)
        {
            await subscriber.DisposeAsync();
        }

        if (Broker is not null)
        {
            await Broker.DisposeAsync();
            Broker = null;
        }

        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>A restarted sidecar on the same port: same consumer group, so unacknowledged entries come back after processingTimeout.</summary>
    public async Task StartAgainAsync()
    {
        await StartServerAsync();
        if (_appAddress is { } app)
        {
            await SubscribeAppAsync(app);
        }
    }

    /// <summary>The host arguments that put an app on this sidecar (what <c>dapr run</c> hands the app as environment).</summary>
    public string[] HostArguments() => ["--transport", "dapr", $"--DAPR_GRPC_ENDPOINT={Endpoint}", $"--DAPR_HTTP_ENDPOINT={Endpoint}"];

    /// <summary>A <c>DaprClient</c> pointed at this double, built the way an app builds one.</summary>
    public DaprClient CreateDaprClient() =>
        new DaprClientBuilder().UseGrpcEndpoint(Endpoint.ToString()).UseHttpEndpoint(Endpoint.ToString()).Build();

    /// <summary>The Redis key Dapr's Redis state store uses for <paramref name="key"/> (default key prefix: the app id).</summary>
    public string RedisKey(string key) => $"{AppId}||{key}";

    /// <summary>The data of every event in the topic's stream, oldest first: what the app published, unwrapped from its CloudEvent.</summary>
    public async Task<IReadOnlyList<byte[]>> PublishedDataAsync(string topic)
    {
        var broker = Broker ?? throw new InvalidOperationException("the sidecar has no pub/sub");
        var entries = await broker.EntriesAsync(topic);
        return [.. entries.Select(e => JsonNode.Parse(e.Data) is JsonObject ce && ce["data_base64"] is JsonValue b64
            ? Convert.FromBase64String(b64.GetValue<string>())
            : e.Data)];
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    internal void Record(Func<RecordedPublish> publish)
    {
        if (Options.RecordCalls)
        {
            _publishes.Enqueue(publish());
        }
    }

    internal void Record(Func<RecordedBulkPublish> publish)
    {
        if (Options.RecordCalls)
        {
            _bulkPublishes.Enqueue(publish());
        }
    }

    internal void ThrowIfUnavailable()
    {
        if (Unavailable)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "dapr sidecar double told to be unavailable"));
        }
    }

    /// <summary>
    /// pkg/resiliency/resiliency.go:1045-1068 circuitBreakerInstances.Get: component breakers are cached by component
    /// name alone, so the inbound and outbound policies of one pub/sub share the instance made from whichever
    /// template asked first.
    /// </summary>
    private CircuitBreaker? BreakerFor(DaprPolicy policy)
    {
        if (policy.CircuitBreaker is not { } template)
        {
            return null;
        }

        lock (_breakerLock)
        {
            return _breaker ??= new CircuitBreaker(template);
        }
    }

    private async Task StartServerAsync()
    {
        if (Options.Redis is { } redis)
        {
            Broker = await RedisStreamsBroker.StartAsync(redis, Options.RedisStreams, Options.AppId);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, _port, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc =>
        {
            // grpc-go's MaxRecvMsgSize/MaxSendMsgSize = --max-body-size: a larger message is ResourceExhausted.
            grpc.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, Options.MaxBodySize);
            grpc.MaxSendMessageSize = (int)Math.Min(int.MaxValue, Options.MaxBodySize);
        });
        builder.Services.AddSingleton(this);
        var app = builder.Build();
        app.MapGrpcService<DaprSidecarApi>();
        await app.StartAsync();
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = new Uri(address);
        _port = Endpoint.Port;
    }
}

using System.Collections.Concurrent;
using System.Net;
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
/// The one test double of the Dapr path: an in-process gRPC server speaking the sidecar API from the
/// official <c>Dapr.Protos</c> service definition (<c>dapr.proto.runtime.v1.Dapr</c>) over h2c on 127.0.0.1.
/// It records publishes and keeps state in a real Redis, laid out as Dapr's Redis state store does
/// (key <c>{appId}||{key}</c>, hash fields <c>data</c> and <c>version</c>). It can be told to be unavailable,
/// to lack bulk publish, or to fail chosen bulk entries, so that the publisher's fallback paths are exercised.
/// </summary>
public sealed class DaprSidecarDouble : IAsyncDisposable
{
    private readonly ConcurrentQueue<RecordedPublish> _publishes = new();
    private readonly ConcurrentQueue<RecordedBulkPublish> _bulkPublishes = new();
    private WebApplication? _app;

    private DaprSidecarDouble(RedisServer? redis, string appId, IReadOnlySet<string> stateStores)
    {
        Redis = redis;
        AppId = appId;
        StateStores = stateStores;
    }

    public Uri Endpoint { get; private set; } = null!;

    public string AppId { get; }

    public RedisServer? Redis { get; }

    public IReadOnlySet<string> StateStores { get; }

    /// <summary>Every call answers Unavailable, as a sidecar that is starting or shutting down does.</summary>
    public bool Unavailable { get; set; }

    public SidecarBulkSupport BulkSupport { get; set; }

    /// <summary>Bulk entries with these ids are reported back as failed entries (daprd's partial failure shape).</summary>
    public ConcurrentDictionary<string, string> FailEntryIds { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, bulk publishes fail with this status and no entries, as daprd 1.1x does on any entry failure.</summary>
    public StatusCode? FailBulkWith { get; set; }

    public IReadOnlyList<RecordedPublish> Publishes => [.. _publishes];

    public IReadOnlyList<RecordedBulkPublish> BulkPublishes => [.. _bulkPublishes];

    /// <summary>Starts the double; with <paramref name="redis"/> it serves the state API for <paramref name="stateStores"/>.</summary>
    public static async Task<DaprSidecarDouble> StartAsync(RedisServer? redis = null, string appId = "cloudproxy-test", params string[] stateStores)
    {
        var sidecar = new DaprSidecarDouble(
            redis, appId, new HashSet<string>(stateStores.Length == 0 ? ["statestore"] : stateStores, StringComparer.Ordinal));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(sidecar);
        var app = builder.Build();
        app.MapGrpcService<DaprSidecarService>();
        await app.StartAsync();
        sidecar._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sidecar.Endpoint = new Uri(address);
        return sidecar;
    }

    /// <summary>A <c>DaprClient</c> pointed at this double, built the way an app builds one.</summary>
    public DaprClient CreateDaprClient() =>
        new DaprClientBuilder().UseGrpcEndpoint(Endpoint.ToString()).UseHttpEndpoint(Endpoint.ToString()).Build();

    /// <summary>The Redis key Dapr's Redis state store uses for <paramref name="key"/> (default key prefix: the app id).</summary>
    public string RedisKey(string key) => $"{AppId}||{key}";

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    internal void Record(RecordedPublish publish) => _publishes.Enqueue(publish);

    internal void Record(RecordedBulkPublish publish) => _bulkPublishes.Enqueue(publish);
}

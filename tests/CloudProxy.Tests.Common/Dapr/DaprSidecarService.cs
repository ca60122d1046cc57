using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StackExchange.Redis;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// The gRPC service behind <see cref="DaprSidecarDouble"/>. Dapr.Protos ships only the client stub, so the
/// server side is bound by hand: each <see cref="Method{TRequest, TResponse}"/> is built from the package's
/// service descriptor (service <c>dapr.proto.runtime.v1.Dapr</c>, its message types and parsers), and
/// grpc-dotnet dispatches to the public virtual method of the same name. Methods not bound here answer
/// Unimplemented, as a sidecar without them would.
/// </summary>
[BindServiceMethod(typeof(DaprSidecarService), nameof(BindService))]
public class DaprSidecarService(DaprSidecarDouble sidecar)
{
    public static void BindService(ServiceBinderBase binder, DaprSidecarService? service)
    {
        ArgumentNullException.ThrowIfNull(binder);

        // grpc-dotnet binds by method name and ignores the delegates (the service is created per call).
        binder.AddMethod(Unary<Autogen.PublishEventRequest, Empty>("PublishEvent"), service is null ? null : service.PublishEvent);
        binder.AddMethod(Unary<Autogen.BulkPublishRequest, Autogen.BulkPublishResponse>("BulkPublishEvent"), service is null ? null : service.BulkPublishEvent);
        binder.AddMethod(Unary<Autogen.BulkPublishRequest, Autogen.BulkPublishResponse>("BulkPublishEventAlpha1"), service is null ? null : service.BulkPublishEventAlpha1);
        binder.AddMethod(Unary<Autogen.GetStateRequest, Autogen.GetStateResponse>("GetState"), service is null ? null : service.GetState);
        binder.AddMethod(Unary<Autogen.SaveStateRequest, Empty>("SaveState"), service is null ? null : service.SaveState);
        binder.AddMethod(Unary<Autogen.DeleteStateRequest, Empty>("DeleteState"), service is null ? null : service.DeleteState);
    }

    public virtual Task<Empty> PublishEvent(Autogen.PublishEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ThrowIfUnavailable();
        sidecar.Record(new RecordedPublish(
            request.PubsubName, request.Topic, request.DataContentType, request.Data.ToByteArray(),
            new Dictionary<string, string>(request.Metadata), Headers(context)));
        return Task.FromResult(new Empty());
    }

    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEvent(Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        ThrowIfUnavailable();
        if (sidecar.BulkSupport != SidecarBulkSupport.StableAndAlpha1)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method BulkPublishEvent for service dapr.proto.runtime.v1.Dapr"));
        }

        return Task.FromResult(BulkPublish("BulkPublishEvent", request, context));
    }

    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEventAlpha1(Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        ThrowIfUnavailable();
        if (sidecar.BulkSupport == SidecarBulkSupport.None)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method BulkPublishEventAlpha1 for service dapr.proto.runtime.v1.Dapr"));
        }

        return Task.FromResult(BulkPublish("BulkPublishEventAlpha1", request, context));
    }

    public virtual async Task<Autogen.GetStateResponse> GetState(Autogen.GetStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var db = StateDatabase(request.StoreName);
        var values = await db.HashGetAsync(sidecar.RedisKey(request.Key), ["data", "version"]);
        var response = new Autogen.GetStateResponse();
        if (!values[0].IsNull)
        {
            response.Data = ByteString.CopyFrom((byte[])values[0]!);
            response.Etag = values[1].ToString();
        }

        return response;
    }

    public virtual async Task<Empty> SaveState(Autogen.SaveStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var db = StateDatabase(request.StoreName);
        foreach (var item in request.States)
        {
            if (item.Key.Length == 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "state key cannot be empty"));
            }

            var key = sidecar.RedisKey(item.Key);
            var transaction = db.CreateTransaction();
            _ = transaction.HashSetAsync(key, "data", item.Value.ToByteArray());
            _ = transaction.HashIncrementAsync(key, "version");
            if (item.Metadata.TryGetValue("ttlInSeconds", out var ttlText))
            {
                if (!int.TryParse(ttlText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ttl))
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"incorrect value for metadata 'ttlInSeconds': {ttlText}"));
                }

                // Dapr's Redis store: a positive TTL expires the key, -1 keeps it forever.
                _ = ttl > 0 ? transaction.KeyExpireAsync(key, TimeSpan.FromSeconds(ttl)) : transaction.KeyPersistAsync(key);
            }
            else
            {
                _ = transaction.KeyPersistAsync(key);
            }

            await transaction.ExecuteAsync();
        }

        return new Empty();
    }

    public virtual async Task<Empty> DeleteState(Autogen.DeleteStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await StateDatabase(request.StoreName).KeyDeleteAsync(sidecar.RedisKey(request.Key));
        return new Empty();
    }

    private Autogen.BulkPublishResponse BulkPublish(string rpc, Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var entries = request.Entries
            .Select(e => new RecordedBulkEntry(e.EntryId, e.ContentType, e.Event.ToByteArray(), new Dictionary<string, string>(e.Metadata)))
            .ToList();
        sidecar.Record(new RecordedBulkPublish(rpc, request.PubsubName, request.Topic, entries, Headers(context)));
        if (sidecar.FailBulkWith is { } code)
        {
            throw new RpcException(new Status(code, "error when publish to topic in pubsub: bulk publish failed"));
        }

        var response = new Autogen.BulkPublishResponse();
        foreach (var entry in request.Entries)
        {
            if (sidecar.FailEntryIds.TryGetValue(entry.EntryId, out var error))
            {
                response.FailedEntries.Add(new Autogen.BulkPublishResponseFailedEntry { EntryId = entry.EntryId, Error = error });
            }
        }

        return response;
    }

    private IDatabase StateDatabase(string storeName)
    {
        ThrowIfUnavailable();
        if (sidecar.Redis is null || !sidecar.StateStores.Contains(storeName))
        {
            // daprd's answer for a store that is not configured.
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"state store {storeName} is not found"));
        }

        return sidecar.Redis.Database;
    }

    private void ThrowIfUnavailable()
    {
        if (sidecar.Unavailable)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "dapr sidecar double told to be unavailable"));
        }
    }

    private static List<KeyValuePair<string, string>> Headers(ServerCallContext context) =>
        [.. context.RequestHeaders.Where(h => !h.IsBinary).Select(h => new KeyValuePair<string, string>(h.Key, h.Value))];

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var service = Autogen.Dapr.Descriptor;
        var method = service.FindMethodByName(name)
            ?? throw new InvalidOperationException($"{name} is not part of {service.FullName} in Dapr.Protos");
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
        {
            throw new InvalidOperationException($"{service.FullName}/{name} takes {method.InputType.ClrType} and returns {method.OutputType.ClrType}");
        }

        return new Method<TRequest, TResponse>(
            MethodType.Unary,
            service.FullName,
            name,
            Marshallers.Create(r => r.ToByteArray(), bytes => (TRequest)method.InputType.Parser.ParseFrom(bytes)),
            Marshallers.Create(r => r.ToByteArray(), bytes => (TResponse)method.OutputType.Parser.ParseFrom(bytes)));
    }
}

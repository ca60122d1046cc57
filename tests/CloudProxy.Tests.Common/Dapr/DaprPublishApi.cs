using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>What the component is asked to publish, for <see cref="DaprSidecarDouble.PublishFault"/>.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Event">The bytes the app sent (before CloudEvent wrapping).</param>
/// <param name="Data">The bytes daprd hands the component (the CloudEvent JSON).</param>
public sealed record ComponentPublish(string Topic, byte[] Event, byte[] Data);

/// <summary>
/// The sidecar's gRPC API (service <c>dapr.proto.runtime.v1.Dapr</c>) as dapr/dapr pkg/api/grpc/grpc.go@d8450742
/// answers it. Dapr.Protos ships only the client stub, so the server side is bound by hand from the package's
/// service descriptor; methods not bound answer Unimplemented, as a sidecar without them would. The request size
/// limit is grpc-go's MaxRecvMsgSize = <c>--max-body-size</c> (pkg/api/grpc/server.go:359): larger requests are
/// refused with ResourceExhausted before any handler runs (grpc/grpc-go rpc_util.go:797-798@4793ad04).
/// </summary>
[BindServiceMethod(typeof(DaprSidecarApi), nameof(BindService))]
public partial class DaprSidecarApi(DaprSidecarDouble sidecar)
{
    /// <summary>pkg/runtime/pubsub/default_bulkpub.go:25-27: the runtime's bulk publisher runs at most 100 publishes at once.</summary>
    private const int DefaultBulkPublishMaxConcurrency = 100;

    public static void BindService(ServiceBinderBase binder, DaprSidecarApi? service)
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

    /// <summary>grpc.go:179-259: one CloudEvent (unless rawPayload), published through the outbound policy.</summary>
    public virtual async Task<Empty> PublishEvent(Autogen.PublishEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        sidecar.ThrowIfUnavailable();
        sidecar.Record(() => new RecordedPublish(
            request.PubsubName, request.Topic, request.DataContentType, request.Data.ToByteArray(),
            new Dictionary<string, string>(request.Metadata), Headers(context)));
        var (broker, raw) = Validate(request.PubsubName, request.Topic, request.Metadata);
        var traceParent = DaprCloudEvents.ChildTraceParent(Header(context, "traceparent"));
        var traceState = Header(context, "tracestate") ?? string.Empty;
        var body = request.Data.ToByteArray();
        Dictionary<string, string>? metadata = request.Metadata.Count == 0 ? null : new(request.Metadata);
        byte[] data;
        if (raw)
        {
            metadata ??= [];
            metadata["traceid"] = traceParent;
            metadata["tracestate"] = traceState;
            data = body;
        }
        else
        {
            data = DaprCloudEvents.Wrap(sidecar.AppId, request.Topic, request.PubsubName, request.DataContentType, body, traceParent, traceState);
        }

        var message = new ComponentPublish(request.Topic, body, data);
        var (_, error) = await sidecar.Outbound.RunAsync<object>(
            async ct => ((object?)null, await ComponentPublishAsync(broker, message, metadata, ct)), context.CancellationToken);
        if (error is not null)
        {
            throw PublishMessageError(request.PubsubName, request.Topic, error);
        }

        return new Empty();
    }

    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEvent(Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        sidecar.ThrowIfUnavailable();
        if (sidecar.BulkSupport != SidecarBulkSupport.StableAndAlpha1)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method BulkPublishEvent for service dapr.proto.runtime.v1.Dapr"));
        }

        return BulkPublishAsync("BulkPublishEvent", request, context);
    }

    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEventAlpha1(Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        sidecar.ThrowIfUnavailable();
        if (sidecar.BulkSupport == SidecarBulkSupport.None)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method BulkPublishEventAlpha1 for service dapr.proto.runtime.v1.Dapr"));
        }

        return BulkPublishAsync("BulkPublishEventAlpha1", request, context);
    }

    /// <summary>
    /// grpc.go:375-509 bulkPublishEvent. Entry ids must be unique and non-empty; each entry becomes its own
    /// CloudEvent with its own producer span. Redis has no native bulk publish, so the runtime's default bulk
    /// publisher (pkg/runtime/pubsub/default_bulkpub.go:46-98) publishes the entries one by one, in parallel, and
    /// fails as soon as any entry failed; the outbound policy retries only the failed entries
    /// (bulkpublish_resiliency.go:36-77). Any error that is left is answered as status Internal with an EMPTY
    /// response (grpc.go:476-498): the caller never learns which entries were published.
    /// </summary>
    private async Task<Autogen.BulkPublishResponse> BulkPublishAsync(string rpc, Autogen.BulkPublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        sidecar.Record(() => new RecordedBulkPublish(
            rpc, request.PubsubName, request.Topic,
            [.. request.Entries.Select(e => new RecordedBulkEntry(e.EntryId, e.ContentType, e.Event.ToByteArray(), new Dictionary<string, string>(e.Metadata)))],
            Headers(context)));
        var (broker, raw) = Validate(request.PubsubName, request.Topic, request.Metadata);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var messages = new List<(string EntryId, ComponentPublish Message, Dictionary<string, string>? Metadata)>();
        var parent = Header(context, "traceparent");
        var traceState = Header(context, "tracestate") ?? string.Empty;
        foreach (var entry in request.Entries)
        {
            if (entry.EntryId.Length == 0 || !ids.Add(entry.EntryId))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"error marshaling events to bytes for topic {request.Topic} pubsub {request.PubsubName}. error: entryId is duplicated or not present for entry"));
            }

            Dictionary<string, string>? metadata = entry.Metadata.Count == 0 ? null : new(request.Metadata.Concat(entry.Metadata).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value));
            var body = entry.Event.ToByteArray();
            var data = raw
                ? body
                : DaprCloudEvents.Wrap(sidecar.AppId, request.Topic, request.PubsubName, entry.ContentType, body, DaprCloudEvents.ChildTraceParent(parent), traceState);
            messages.Add((entry.EntryId, new ComponentPublish(request.Topic, body, data), metadata));
        }

        var current = messages;
        var (_, error) = await sidecar.Outbound.RunAsync<List<string>>(
            async ct =>
            {
                var attempt = current;
                var failed = new List<string>();
                Exception? first = null;
                using var limit = new SemaphoreSlim(DefaultBulkPublishMaxConcurrency);
                await Task.WhenAll(attempt.Select(async m =>
                {
                    await limit.WaitAsync(ct);
                    try
                    {
                        if (await ComponentPublishAsync(broker, m.Message, m.Metadata, ct) is { } entryError)
                        {
                            lock (failed)
                            {
                                failed.Add(m.EntryId);
                                first ??= entryError;
                            }
                        }
                    }
                    finally
                    {
                        limit.Release();
                    }
                }));
                return (failed, first);
            },
            accumulator: failed =>
            {
                if (failed.Count > 0)
                {
                    current = [.. current.Where(m => failed.Contains(m.EntryId))];
                }
            },
            context.CancellationToken);
        if (error is not null)
        {
            throw PublishMessageError(request.PubsubName, request.Topic, error);
        }

        return new Autogen.BulkPublishResponse();
    }

    private async Task<Exception?> ComponentPublishAsync(RedisStreamsBroker broker, ComponentPublish message, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        if (sidecar.PublishFault?.Invoke(message) is { } fault)
        {
            return new InvalidOperationException($"redis streams: error from publish: {fault}");
        }

        return await broker.PublishAsync(message.Topic, message.Data, metadata, cancellationToken);
    }

    /// <summary>grpc.go:147-177 validateAndGetPubsubAndTopic, with the codes of pkg/api/errors/pubsub.go.</summary>
    private (RedisStreamsBroker Broker, bool RawPayload) Validate(string pubsubName, string topic, IDictionary<string, string> metadata)
    {
        if (pubsubName.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "pubsub name is empty"));
        }

        if (sidecar.Broker is not { } broker || !string.Equals(pubsubName, sidecar.Options.PubSubName, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"pubsub {pubsubName} is not found"));
        }

        if (topic.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"topic is empty in pubsub {pubsubName}"));
        }

        var raw = false;
        if (metadata.TryGetValue("rawPayload", out var text) && !bool.TryParse(text, out raw))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"failed deserializing metadata. Error: invalid rawPayload '{text}'"));
        }

        return (broker, raw);
    }

    /// <summary>pkg/api/errors/pubsub.go:78-85 PublishMessage: codes.Internal.</summary>
    private static RpcException PublishMessageError(string pubsubName, string topic, Exception error) =>
        error is OperationCanceledException && error.InnerException is null
            ? new RpcException(new Status(StatusCode.Cancelled, "context canceled"))
            : new RpcException(new Status(StatusCode.Internal, $"error when publishing to topic {topic} in pubsub {pubsubName}: {error.Message}"));

    private static string? Header(ServerCallContext context, string name) => context.RequestHeaders.GetValue(name);

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

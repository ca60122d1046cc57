using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Bench.DaprSidecarStub;

/// <summary>Envelope and call counts, read by the benchmark script over HTTP.</summary>
public sealed class PublishCounts
{
    private long _envelopes;
    private long _bytes;
    private long _bulkCalls;
    private long _singleCalls;
    private long _malformed;

    public void BulkPublish(int entries, long bytes, int malformed)
    {
        Interlocked.Increment(ref _bulkCalls);
        Interlocked.Add(ref _malformed, malformed);
        Interlocked.Add(ref _envelopes, entries);
        Interlocked.Add(ref _bytes, bytes);
    }

    public void OnePublish(long bytes)
    {
        Interlocked.Increment(ref _singleCalls);
        Interlocked.Increment(ref _envelopes);
        Interlocked.Add(ref _bytes, bytes);
    }

    public object Snapshot() => new
    {
        envelopes = Interlocked.Read(ref _envelopes),
        bytes = Interlocked.Read(ref _bytes),
        bulk_calls = Interlocked.Read(ref _bulkCalls),
        single_calls = Interlocked.Read(ref _singleCalls),
        malformed_entries = Interlocked.Read(ref _malformed),
    };
}

/// <summary>
/// Dapr.Protos ships only the client stub, so the server side is bound by hand from the package's service
/// descriptor, as the test double in tests/CloudProxy.Tests.Common does.
/// </summary>
[BindServiceMethod(typeof(SidecarStubService), nameof(BindService))]
public class SidecarStubService(PublishCounts counts)
{
    public static void BindService(ServiceBinderBase binder, SidecarStubService? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(Unary<Autogen.PublishEventRequest, Empty>("PublishEvent"), service is null ? null : service.PublishEvent);
        binder.AddMethod(BulkCounting("BulkPublishEvent"), service is null ? null : service.BulkPublishEvent);
        binder.AddMethod(BulkCounting("BulkPublishEventAlpha1"), service is null ? null : service.BulkPublishEventAlpha1);
        binder.AddMethod(Unary<Autogen.GetStateRequest, Autogen.GetStateResponse>("GetState"), service is null ? null : service.GetState);
    }

    public virtual Task<Empty> PublishEvent(Autogen.PublishEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        counts.OnePublish(request.Data.Length);
        return Task.FromResult(new Empty());
    }

    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEvent(BulkPublishTally request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        counts.BulkPublish(request.Entries, request.Bytes, request.Malformed);
        return Task.FromResult(new Autogen.BulkPublishResponse());
    }

    // grpc-dotnet binds by method name, so the alpha RPC needs a method of its own.
    public virtual Task<Autogen.BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishTally request, ServerCallContext context) =>
        BulkPublishEvent(request, context);

    // The ingress reads the shared Sentry rate limits from the state store; an empty state store answers
    // "no such key" with an empty response, as daprd does.
    public virtual Task<Autogen.GetStateResponse> GetState(Autogen.GetStateRequest request, ServerCallContext context) =>
        Task.FromResult(new Autogen.GetStateResponse());

    // Bulk requests are counted straight off the wire (BulkPublishCounter), not parsed into messages.
    private static Method<BulkPublishTally, Autogen.BulkPublishResponse> BulkCounting(string name)
    {
        var service = Autogen.Dapr.Descriptor;
        _ = service.FindMethodByName(name) ?? throw new InvalidOperationException($"{name} is not part of {service.FullName} in Dapr.Protos");
        return new Method<BulkPublishTally, Autogen.BulkPublishResponse>(
            MethodType.Unary,
            service.FullName,
            name,
            Marshallers.Create<BulkPublishTally>(
                (_, _) => throw new NotSupportedException("the stub only receives bulk requests"),
                context => BulkPublishCounter.Count(context.PayloadAsReadOnlySequence())),
            Marshallers.Create<Autogen.BulkPublishResponse>(r => r.ToByteArray(), Autogen.BulkPublishResponse.Parser.ParseFrom));
    }

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var service = Autogen.Dapr.Descriptor;
        var method = service.FindMethodByName(name)
            ?? throw new InvalidOperationException($"{name} is not part of {service.FullName} in Dapr.Protos");
        return new Method<TRequest, TResponse>(
            MethodType.Unary,
            service.FullName,
            name,
            Marshallers.Create(r => r.ToByteArray(), bytes => (TRequest)method.InputType.Parser.ParseFrom(bytes)),
            Marshallers.Create(r => r.ToByteArray(), bytes => (TResponse)method.OutputType.Parser.ParseFrom(bytes)));
    }
}

using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StackExchange.Redis;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// The state API of the double, over the real Redis laid out as components-contrib's state.redis does
/// (key <c>{prefix}||{key}</c>, hash fields <c>data</c> and <c>version</c>; a positive <c>ttlInSeconds</c> expires the
/// key, -1 keeps it). Not modelled: etag concurrency, bulk and transactional operations, the outbound policy.
/// </summary>
public partial class DaprSidecarApi
{
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

    private IDatabase StateDatabase(string storeName)
    {
        sidecar.ThrowIfUnavailable();
        if (sidecar.Redis is null || !sidecar.Options.StateStores.Contains(storeName))
        {
            // daprd's answer for a store that is not configured.
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"state store {storeName} is not found"));
        }

        return sidecar.Redis.Database;
    }
}

using CloudProxy.Core.Envelopes;
using CloudProxy.Transport.Dapr.Publishing;
using Google.Protobuf;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace CloudProxy.Transport.Dapr.Tests.Publishing;

public class BulkPublishWireTests
{
    public static TheoryData<int, int, int> Slices => new()
    {
        // start, end, payload size of every envelope: one-byte and multi-byte varint lengths, one- to three-digit ids.
        { 0, 1, 1 },
        { 0, 3, 100 },
        { 2, 12, 200 },
        { 95, 130, 3 },
        { 0, 2, 70_000 },
    };

    [Theory]
    [MemberData(nameof(Slices))]
    public void The_request_is_byte_for_byte_what_google_protobuf_writes(int start, int end, int payloadSize)
    {
        var batch = Enumerable.Range(0, end)
            .Select(i => TestEnvelopes.Create(payload: Enumerable.Range(0, payloadSize).Select(b => (byte)(b + i)).ToArray()))
            .ToArray();
        var lengths = batch.Select(EnvelopeCodec.GetEncodedLength).ToArray();

        var ours = BulkPublishWire.Serialize(new BulkPublishEnvelopes("pubsub-ü", "sentry-events", batch, lengths, start, end));

        var reference = new Autogen.BulkPublishRequest { PubsubName = "pubsub-ü", Topic = "sentry-events" };
        for (var i = start; i < end; i++)
        {
            reference.Entries.Add(new Autogen.BulkPublishRequestEntry
            {
                EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Event = ByteString.CopyFrom(EnvelopeCodec.Encode(batch[i])),
                ContentType = "application/octet-stream",
            });
        }

        Assert.Equal(reference.ToByteArray(), ours);
        var parsed = Autogen.BulkPublishRequest.Parser.ParseFrom(ours);
        Assert.Equal(end - start, parsed.Entries.Count);
        TestEnvelopes.AssertIntact(batch[end - 1], EnvelopeCodec.Decode(parsed.Entries[^1].Event.Memory));
    }

    [Fact]
    public void Both_bulk_rpcs_are_named_as_in_the_dapr_service_definition()
    {
        Assert.Equal("/dapr.proto.runtime.v1.Dapr/BulkPublishEvent", BulkPublishWire.Stable.FullName);
        Assert.Equal("/dapr.proto.runtime.v1.Dapr/BulkPublishEventAlpha1", BulkPublishWire.Alpha1.FullName);
    }
}

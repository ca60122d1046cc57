using System.Text;
using CloudProxy.Sentry.Protocol;

namespace CloudProxy.Sentry.Tests.Protocol;

public sealed class SentryPayloadReaderTests
{
    [Fact]
    public void An_envelope_gives_its_event_id_dsn_and_the_categories_of_its_items()
    {
        var body = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k@h/1\"}\n"
            + "{\"type\":\"event\",\"length\":2}\n{}\n"
            + "{\"type\":\"attachment\",\"length\":3,\"filename\":\"a.txt\"}\nabc\n"
            + "{\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n";

        Assert.True(SentryPayloadReader.TryReadEnvelope(Encoding.UTF8.GetBytes(body), 1024, out var info, out var error, out _), error);
        Assert.Equal("9ec79c33ec9942ab8353589fcb2e04dc", info.EventId);
        Assert.Equal("https://k@h/1", info.Dsn);
        Assert.Equal(SentryCategories.Error | SentryCategories.Attachment | SentryCategories.Internal, info.Categories);
    }

    [Fact]
    public void A_length_prefixed_payload_may_contain_newlines_and_the_last_newline_is_optional()
    {
        var body = "{}\n{\"type\":\"attachment\",\"length\":5}\na\nb\nc";

        Assert.True(SentryPayloadReader.TryReadEnvelope(Encoding.UTF8.GetBytes(body), 1024, out var info, out var error, out _), error);
        Assert.Equal(SentryCategories.Attachment, info.Categories);
    }

    [Fact]
    public void An_event_item_over_the_event_limit_is_too_large()
    {
        var body = "{}\n{\"type\":\"event\",\"length\":20}\n" + new string('x', 20) + "\n";

        Assert.False(SentryPayloadReader.TryReadEnvelope(Encoding.UTF8.GetBytes(body), 10, out _, out var error, out var tooLarge));
        Assert.True(tooLarge);
        Assert.Contains("event limit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_body_gives_its_event_id_and_whether_it_is_a_transaction()
    {
        var body = "{\"message\":{\"nested\":[1,2,{\"event_id\":\"not this\"}]},\"type\":\"transaction\",\"event_id\":\"9ec79c33-ec99-42ab-8353-589fcb2e04dc\"}";

        Assert.True(SentryPayloadReader.TryReadStoreEventId(Encoding.UTF8.GetBytes(body), out var id, out var transaction, out var error), error);
        Assert.Equal("9ec79c33-ec99-42ab-8353-589fcb2e04dc", id);
        Assert.True(transaction);
        Assert.Equal("9ec79c33ec9942ab8353589fcb2e04dc", SentryPayloadReader.Normalize(id!));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("{\"a\":1} trailing")]
    [InlineData("{\"event_id\":\"xyz\"}")]
    public void A_store_body_that_is_not_one_event_object_is_refused(string body) =>
        Assert.False(SentryPayloadReader.TryReadStoreEventId(Encoding.UTF8.GetBytes(body), out _, out _, out _));
}

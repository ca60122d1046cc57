using System.Text;
using CloudProxy.Sentry.Protocol;

namespace CloudProxy.Sentry.Tests.Protocol;

public sealed class SentryEnvelopeSplitTests
{
    [Fact]
    public void Held_and_kept_items_keep_their_bytes_and_a_last_item_without_newline_gets_one_when_moved()
    {
        const string header = "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n";
        const string span = "{\"type\":\"span\",\"length\":3}\na\nb\n";
        const string log = "{\"type\":\"log\"}\n{\"items\":[]}";
        var body = Encoding.UTF8.GetBytes(header + log + "\n\n" + span.TrimEnd('\n') + "\n" + "{\"type\":\"session\"}\n{}");

        var parts = SentryEnvelopeSplit.Split(body, c => c is SentryCategories.LogItem or SentryCategories.Session);

        Assert.NotNull(parts);
        Assert.Equal(header + span, Encoding.UTF8.GetString(parts.Kept!));
        Assert.Equal(header + log + "\n{\"type\":\"session\"}\n{}\n", Encoding.UTF8.GetString(parts.Held));
        Assert.Equal(SentryCategories.Span, parts.KeptCategories);
        Assert.Equal(SentryCategories.LogItem | SentryCategories.Session, parts.HeldCategories);
        Assert.Equal(2, parts.HeldItems);
    }

    [Fact]
    public void Client_reports_and_unknown_types_are_never_held_and_nothing_held_means_no_split()
    {
        var body = Encoding.UTF8.GetBytes("{}\n{\"type\":\"client_report\"}\n{}\n{\"type\":\"some_future_type\"}\n{}\n");

        Assert.Null(SentryEnvelopeSplit.Split(body, _ => true));
    }

    [Fact]
    public void When_the_event_is_held_its_attachments_stay_with_it()
    {
        var body = Encoding.UTF8.GetBytes("{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"attachment\",\"length\":1}\nx\n{\"type\":\"check_in\"}\n{}\n");

        var parts = SentryEnvelopeSplit.Split(body, c => c == SentryCategories.Error);

        Assert.NotNull(parts);
        Assert.Equal("{}\n{\"type\":\"check_in\"}\n{}\n", Encoding.UTF8.GetString(parts.Kept!));
        Assert.Equal("{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"attachment\",\"length\":1}\nx\n", Encoding.UTF8.GetString(parts.Held));
    }
}

using CloudProxy.Core.Envelopes;

namespace CloudProxy.StatsD.Forwarder;

/// <summary>
/// What UDP cannot acknowledge, made up for where the OS can tell: the envelopes sent lately, kept until they
/// are confirmed. A datagram sent to a port nobody listens on comes back as an ICMP port unreachable, which
/// the kernel reports on the connected socket (the next send fails with ECONNREFUSED, or SO_ERROR is set). So
/// an envelope is confirmed once an error check at least <c>confirmAfter</c> after its send found no error:
/// by then an ICMP for it would have arrived. When an error is found, every unconfirmed envelope may have
/// been lost and is sent again (as the Graphite links re-send their window): a few duplicates, counted, in
/// exchange for no silent loss while the daemon is down. Bounded in bytes; past the bound the oldest are
/// taken as confirmed, and counted as such.
/// </summary>
internal sealed class StatsDUdpWindow(TimeSpan confirmAfter, long maxBytes)
{
    private readonly Queue<(long SentAtTicks, Envelope Envelope, int Lines)> _entries = new();
    private long _bytes;

    public int Count => _entries.Count;

    /// <summary>Remembers an envelope whose datagrams were all handed to the socket at <paramref name="sentAtTicks"/>.</summary>
    /// <returns>Lines pushed out unconfirmed because the window is at its bound.</returns>
    public int Sent(Envelope envelope, int lines, long sentAtTicks)
    {
        _entries.Enqueue((sentAtTicks, envelope, lines));
        _bytes += envelope.Payload.Length;
        var forced = 0;
        while (_bytes > maxBytes && _entries.Count > 1)
        {
            var oldest = _entries.Dequeue();
            _bytes -= oldest.Envelope.Payload.Length;
            forced += oldest.Lines;
        }

        return forced;
    }

    /// <summary>An error check at <paramref name="checkedAtTicks"/> found no error: confirms what was sent early enough; returns its lines.</summary>
    public int Confirm(long checkedAtTicks)
    {
        var confirmed = 0;
        while (_entries.TryPeek(out var oldest) && oldest.SentAtTicks <= checkedAtTicks - confirmAfter.Ticks)
        {
            _entries.Dequeue();
            _bytes -= oldest.Envelope.Payload.Length;
            confirmed += oldest.Lines;
        }

        return confirmed;
    }

    /// <summary>An error was found: everything unconfirmed, to send again.</summary>
    public List<(Envelope Envelope, int Lines)> TakeAll()
    {
        var all = _entries.Select(e => (e.Envelope, e.Lines)).ToList();
        _entries.Clear();
        _bytes = 0;
        return all;
    }
}

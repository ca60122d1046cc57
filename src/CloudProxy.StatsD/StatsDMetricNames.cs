namespace CloudProxy.StatsD;

/// <summary>Every metric the StatsD module exports: <c>cloudproxy_statsd_&lt;thing&gt;_&lt;unit&gt;</c>.</summary>
internal static class StatsDMetricNames
{
    /// <summary>Labels: <c>endpoint</c> (heartbeat, count, gauge, timing, set, batch, preflight: <see cref="Ingress.StatsDIngressLabels"/>), <c>outcome</c>.</summary>
    public const string Requests = "cloudproxy_statsd_requests_total";

    /// <summary>Label <c>reason</c>: why a request was refused (invalid_key, token_missing, outbox_full…).</summary>
    public const string Refusals = "cloudproxy_statsd_refusals_total";

    /// <summary>Label <c>reason</c> (cardinality_prefix, cardinality_prefixes, cardinality_token): single lines the cardinality guard refused.</summary>
    public const string LinesRefused = "cloudproxy_statsd_lines_refused_total";

    /// <summary>Label <c>scope</c> (prefix, token): distinct metric names in the cardinality guard's current window, summed over groups.</summary>
    public const string DistinctNames = "cloudproxy_statsd_distinct_names";

    /// <summary>Label <c>scope</c>: distinct names of the largest group (one prefix, one token) in the current window.</summary>
    public const string DistinctNamesLargest = "cloudproxy_statsd_distinct_names_largest";

    /// <summary>Distinct prefixes (first dotted segment of a key) in the current window.</summary>
    public const string DistinctPrefixes = "cloudproxy_statsd_distinct_prefixes";

    /// <summary>Lines handed to the outbox by the ingress.</summary>
    public const string LinesAccepted = "cloudproxy_statsd_lines_accepted_total";

    /// <summary>Metrics not sent because the sample rate skipped them (as a StatsD client does).</summary>
    public const string SampledOut = "cloudproxy_statsd_sampled_out_total";

    /// <summary>Label <c>protocol</c> (udp, tcp).</summary>
    public const string LinesSent = "cloudproxy_statsd_lines_sent_total";

    public const string DatagramsSent = "cloudproxy_statsd_datagrams_sent_total";

    public const string BytesSent = "cloudproxy_statsd_bytes_sent_total";

    public const string SendErrors = "cloudproxy_statsd_send_errors_total";

    /// <summary>
    /// Lines delivered as far as can be known: over TCP once written, over UDP once no ICMP port unreachable
    /// came back for them (see StatsDUdpWindow). Label <c>protocol</c>.
    /// </summary>
    public const string LinesDelivered = "cloudproxy_statsd_lines_delivered_total";

    /// <summary>Lines sent again because the daemon turned out to be unreachable when they were sent (possible duplicates).</summary>
    public const string LinesResent = "cloudproxy_statsd_lines_resent_total";

    /// <summary>Lines taken as delivered without a check because the UDP window was at its bound.</summary>
    public const string LinesUnconfirmed = "cloudproxy_statsd_lines_unconfirmed_total";

    /// <summary>1 while the forwarder holds lines back because the daemon is unreachable.</summary>
    public const string DaemonDown = "cloudproxy_statsd_daemon_down";

    /// <summary>Lines longer than MaxDatagramBytes, sent alone in their own datagram.</summary>
    public const string OversizeLines = "cloudproxy_statsd_oversize_lines_total";

    /// <summary>Label <c>reason</c>: lines the forwarder could never send (too_large for any datagram).</summary>
    public const string LinesDropped = "cloudproxy_statsd_lines_dropped_total";

    /// <summary>Label <c>reason</c>: envelopes answered Drop (unknown_kind).</summary>
    public const string EnvelopesDropped = "cloudproxy_statsd_envelopes_dropped_total";
}

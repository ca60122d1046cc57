namespace CloudProxy.Core.Outbox;

/// <summary>Section <c>CloudProxy:Outbox</c>: the in-memory queue between ingress and publisher.</summary>
public sealed class OutboxOptions
{
    public const string Section = "CloudProxy:Outbox";

    /// <summary>Most envelopes held in memory.</summary>
    public int Capacity { get; set; } = 100_000;

    /// <summary>Most bytes held in memory.</summary>
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Most envelopes per publish call.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>How long shutdown keeps publishing before it spools what is left.</summary>
    public double DrainTimeoutSeconds { get; set; } = 10;

    /// <summary>Longest wait between publish attempts while the transport is failing.</summary>
    public double MaxBackoffSeconds { get; set; } = 5;
}

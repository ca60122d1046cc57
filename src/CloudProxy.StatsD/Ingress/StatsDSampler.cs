namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// Client-side sampling, as statsd-http-proxy (and every StatsD client) does it: a metric with a sample rate
/// below 1 is sent with probability <c>rate</c>, tagged <c>|@rate</c> so StatsD scales it back up.
/// The random source is injected so tests can be exact.
/// </summary>
internal sealed class StatsDSampler(Func<double> nextDouble)
{
    // The production source (thread-safe); tests pass their own.
#pragma warning disable RS0030
    public StatsDSampler()
        : this(Random.Shared.NextDouble)
#pragma warning restore RS0030
    {
    }

    /// <summary>True when a metric with this rate is to be sent.</summary>
    public bool Keep(double rate) => rate >= 1 || nextDouble() < rate;
}

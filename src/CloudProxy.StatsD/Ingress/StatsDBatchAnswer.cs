namespace CloudProxy.StatsD.Ingress;

/// <summary>One metric line of a batch the cardinality guard refused: its name as sent on, the refusal, why.</summary>
internal readonly record struct StatsDLineRefusal(string Key, StatsDRefusal Refusal, string Reason);

/// <summary>
/// What a <c>/batch</c> answer reports (issue 16, as Vector's acknowledgements): entries read, StatsD lines
/// accepted (handed on), entries skipped by their sample rate, lines refused and why (the first
/// <see cref="MaxListed"/> listed).
/// </summary>
internal sealed class StatsDBatchAnswer(int entries, int sampledOut)
{
    public const int MaxListed = 10;

    private readonly List<StatsDLineRefusal> _refusals = [];

    public int Entries { get; } = entries;

    public int SampledOut { get; } = sampledOut;

    public int Accepted { get; set; }

    public int Refused { get; private set; }

    public IReadOnlyList<StatsDLineRefusal> Refusals => _refusals;

    public void Refuse(string key, StatsDRefusal refusal, string reason)
    {
        Refused++;
        if (_refusals.Count < MaxListed)
        {
            _refusals.Add(new StatsDLineRefusal(key, refusal, reason));
        }
    }
}

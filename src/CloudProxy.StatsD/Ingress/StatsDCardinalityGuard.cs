using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// At most N distinct metric names per prefix (the first dotted segment of the key as the client sent it,
/// before MetricPrefix), at most M distinct prefixes, and at most K distinct names per JWT, within a fixed
/// window (<c>CardinalityWindowSeconds</c>); at the end of a window every count starts again. A name already
/// seen in the window always passes; a new one past a limit is refused. In this process only.
/// </summary>
internal sealed class StatsDCardinalityGuard
{
    /// <summary>Most JWTs tracked in a window; a new token past it is refused (tokens are signed, so this is a safety net).</summary>
    public const int MaxTrackedTokens = 100_000;

    private readonly int _maxNamesPerPrefix;
    private readonly int _maxPrefixes;
    private readonly int _maxNamesPerToken;
    private readonly TimeSpan _window;
    private readonly TimeProvider _time;
    private readonly Gauge.Child _prefixNames;
    private readonly Gauge.Child _tokenNames;
    private readonly Gauge.Child _prefixNamesMax;
    private readonly Gauge.Child _tokenNamesMax;
    private readonly Gauge _prefixes;
    private Window _current;

    public StatsDCardinalityGuard(IOptions<StatsDOptions> options, TimeProvider time, IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(factory);
        var o = options.Value.Ingress;
        _maxNamesPerPrefix = o.MaxNamesPerPrefix;
        _maxPrefixes = o.MaxPrefixes;
        _maxNamesPerToken = o.MaxNamesPerToken;
        _window = TimeSpan.FromSeconds(o.CardinalityWindowSeconds);
        _time = time;
        var names = factory.CreateGauge(StatsDMetricNames.DistinctNames, "Distinct metric names seen in the cardinality guard's current window, summed over groups, by scope (prefix, token).", ["scope"]);
        _prefixNames = names.WithLabels("prefix");
        _tokenNames = names.WithLabels("token");
        var largest = factory.CreateGauge(StatsDMetricNames.DistinctNamesLargest, "Distinct metric names of the largest group (one prefix or one token) in the current window: what the limit applies to.", ["scope"]);
        _prefixNamesMax = largest.WithLabels("prefix");
        _tokenNamesMax = largest.WithLabels("token");
        _prefixes = factory.CreateGauge(StatsDMetricNames.DistinctPrefixes, "Distinct prefixes (first dotted segment of a key) seen in the current window.");
        _current = new Window(time.GetTimestamp());
    }

    private bool TracksPrefixes => _maxNamesPerPrefix > 0 || _maxPrefixes > 0;

    public bool Enabled => TracksPrefixes || _maxNamesPerToken > 0;

    /// <summary>Whole seconds (at least 1) until the current window ends: the Retry-After of a refusal.</summary>
    public int SecondsLeft()
    {
        var left = _window - _time.GetElapsedTime(_current.Start);
        return (int)Math.Clamp(Math.Ceiling(left.TotalSeconds), 1, int.MaxValue);
    }

    /// <summary>
    /// Admits one metric name (UTF-8, the key without MetricPrefix); null when it passes, else the refusal and why.
    /// <paramref name="token"/> is the request's JWT, or null.
    /// </summary>
    public (StatsDRefusal Refusal, string Reason)? Admit(ReadOnlySpan<byte> name, string? token)
    {
        var window = CurrentWindow();
        Span<char> buffer = name.Length <= 512 ? stackalloc char[512] : new char[name.Length];
        var chars = buffer[..Encoding.UTF8.GetChars(name, buffer)];
        Group? prefixGroup = null;
        scoped ReadOnlySpan<char> prefix = default;
        if (TracksPrefixes)
        {
            var dot = chars.IndexOf('.');
            prefix = dot < 0 ? chars : chars[..dot];
            window.PrefixLookup.TryGetValue(prefix, out prefixGroup);
        }

        Group? tokenGroup = null;
        if (_maxNamesPerToken > 0 && token is not null)
        {
            window.Tokens.TryGetValue(token, out tokenGroup);
        }

        // The hot path: a name already seen in every group that counts it passes without a lock or an allocation.
        if ((TracksPrefixes ? prefixGroup is not null && prefixGroup.Lookup.ContainsKey(chars) : true)
            && (_maxNamesPerToken > 0 && token is not null ? tokenGroup is not null && tokenGroup.Lookup.ContainsKey(chars) : true))
        {
            return null;
        }

        var text = chars.ToString();
        if (TracksPrefixes && prefixGroup is null)
        {
            var prefixText = prefix.ToString();
            if (!window.Prefixes.TryGetValue(prefixText, out prefixGroup))
            {
                if (_maxPrefixes > 0 && window.Prefixes.Count >= _maxPrefixes)
                {
                    return (StatsDRefusal.TooManyPrefixes,
                        $"'{prefixText}' would be prefix number {_maxPrefixes + 1} in this window (CloudProxy:StatsD:Ingress:MaxPrefixes is {_maxPrefixes})");
                }

                prefixGroup = window.Prefixes.GetOrAdd(prefixText, static _ => new Group());
                _prefixes.Set(window.Prefixes.Count);
            }
        }

        if (_maxNamesPerToken > 0 && token is not null && tokenGroup is null && !window.Tokens.TryGetValue(token, out tokenGroup))
        {
            if (window.Tokens.Count >= MaxTrackedTokens)
            {
                return (StatsDRefusal.TooManyNamesForToken, $"more than {MaxTrackedTokens} tokens in this window");
            }

            tokenGroup = window.Tokens.GetOrAdd(token, static _ => new Group());
        }

        // Both groups are checked before either takes the name, so a name refused by one is not counted by the other.
        // Locks (taken only to add a name) are always taken prefix first, then token.
        var prefixLimit = _maxNamesPerPrefix > 0 ? _maxNamesPerPrefix : int.MaxValue;
        var prefixLocked = false;
        var tokenLocked = false;
        try
        {
            if (prefixGroup is not null)
            {
                Monitor.Enter(prefixGroup, ref prefixLocked);
            }

            if (tokenGroup is not null)
            {
                Monitor.Enter(tokenGroup, ref tokenLocked);
            }

            var newForPrefix = prefixGroup is not null && !prefixGroup.Names.ContainsKey(text);
            var newForToken = tokenGroup is not null && !tokenGroup.Names.ContainsKey(text);
            if (newForPrefix && prefixGroup!.Names.Count >= prefixLimit)
            {
                return (StatsDRefusal.TooManyNamesForPrefix,
                    $"'{text}' would be name number {prefixLimit + 1} under its prefix in this window (CloudProxy:StatsD:Ingress:MaxNamesPerPrefix is {prefixLimit})");
            }

            if (newForToken && tokenGroup!.Names.Count >= _maxNamesPerToken)
            {
                return (StatsDRefusal.TooManyNamesForToken,
                    $"'{text}' would be name number {_maxNamesPerToken + 1} for this token in this window (CloudProxy:StatsD:Ingress:MaxNamesPerToken is {_maxNamesPerToken})");
            }

            if (newForPrefix)
            {
                prefixGroup!.Names.TryAdd(text, 0);
                _prefixNames.Inc();
                Raise(_prefixNamesMax, prefixGroup.Names.Count);
            }

            if (newForToken)
            {
                tokenGroup!.Names.TryAdd(text, 0);
                _tokenNames.Inc();
                Raise(_tokenNamesMax, tokenGroup.Names.Count);
            }
        }
        finally
        {
            if (tokenLocked)
            {
                Monitor.Exit(tokenGroup!);
            }

            if (prefixLocked)
            {
                Monitor.Exit(prefixGroup!);
            }
        }

        return null;
    }

    private static void Raise(Gauge.Child gauge, int count)
    {
        if (count > gauge.Value)
        {
            gauge.Set(count);
        }
    }

    private Window CurrentWindow()
    {
        var window = _current;
        if (_time.GetElapsedTime(window.Start) < _window)
        {
            return window;
        }

        var fresh = new Window(_time.GetTimestamp());
        if (Interlocked.CompareExchange(ref _current, fresh, window) == window)
        {
            _prefixNames.Set(0);
            _tokenNames.Set(0);
            _prefixNamesMax.Set(0);
            _tokenNamesMax.Set(0);
            _prefixes.Set(0);
            return fresh;
        }

        return _current;
    }

    private sealed class Window(long start)
    {
        public long Start { get; } = start;

        public ConcurrentDictionary<string, Group> Prefixes { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, Group>.AlternateLookup<ReadOnlySpan<char>> PrefixLookup => Prefixes.GetAlternateLookup<ReadOnlySpan<char>>();

        public ConcurrentDictionary<string, Group> Tokens { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Group
    {
        public Group() => Lookup = Names.GetAlternateLookup<ReadOnlySpan<char>>();

        /// <summary>Read without a lock; written only under the group's lock, so its count never passes the limit.</summary>
        public ConcurrentDictionary<string, byte> Names { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }
    }
}

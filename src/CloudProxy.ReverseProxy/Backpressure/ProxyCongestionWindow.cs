namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>What a finished back-end call says about congestion.</summary>
internal enum CallOutcome
{
    Success = 0,
    BackendStatus = 1,
    Latency = 2,
    Failed = 3,
}

/// <summary>
/// The AIMD concurrency window over back-end calls (after kevindweb/throttle-proxy's proxymw, with its gaps
/// filled): at most <see cref="Window"/> calls at once; a call above it waits briefly for a slot, by class:
/// sheddable calls do not wait, and a freed slot goes to waiting critical calls before default ones. The
/// window grows by one per round of saturated success (a round = as many successes as the window is wide, in
/// which the window was full at least once, so a proxy with spare room does not inflate it) and is multiplied
/// by the decrease factor when a signal fires: at most once per round for the back end's own signals (one
/// burst of 503s is one congestion event, as in TCP), once per evaluation for a firing query, which also
/// stops growth while it fires. Value queries cap the window smoothly: <c>min + (max - min) × allowance</c>.
/// While the queries cannot be evaluated the window walks to a fail-safe value (<see cref="MoveTowardFailSafe"/>)
/// instead of freezing where the last good answer left it.
/// </summary>
internal sealed class ProxyCongestionWindow
{
    private readonly object _gate = new();
    private readonly LinkedList<TaskCompletionSource<bool>>[] _waiters = [new(), new(), new()];
    private readonly int _min;
    private readonly int _max;
    private readonly double _decrease;
    private int _window;
    private int _inFlight;
    private int _roundSuccesses;
    private int _completionsSinceCut;
    private int _signalCutsSinceEvaluation;
    private double _allowance = 1;
    private bool _queryFiring;
    private bool _fullThisRound;
    private int? _failSafeCeiling;
    private readonly Action<ProxyCriticality, int>? _waitingChanged;

    /// <param name="waitingChanged">Told the number of waiting calls of a class whenever it changes (for a gauge).</param>
    public ProxyCongestionWindow(int min, int max, int initial, double decreaseFactor, Action<ProxyCriticality, int>? waitingChanged = null)
    {
        _waitingChanged = waitingChanged;
        _min = min;
        _max = max;
        _decrease = decreaseFactor;
        _window = Math.Clamp(initial <= 0 ? max : initial, min, max);
        _completionsSinceCut = int.MaxValue;
    }

    public int Window => Volatile.Read(ref _window);

    public int InFlight => Volatile.Read(ref _inFlight);

    public double Allowance
    {
        get
        {
            lock (_gate)
            {
                return _allowance;
            }
        }
    }

    /// <summary>True while the window walks to (or sits at) the fail-safe value because queries fail.</summary>
    public bool FailingSafe
    {
        get
        {
            lock (_gate)
            {
                return _failSafeCeiling.HasValue;
            }
        }
    }

    /// <summary>True when the last cut came from a signal rather than plain saturation (for the blocked-by-cause metric).</summary>
    public bool Throttled => Window < EffectiveMaxUnlocked() || _allowance < 1;

    /// <summary>Calls of a class waiting for a slot.</summary>
    public int Waiting(ProxyCriticality criticality)
    {
        lock (_gate)
        {
            return _waiters[(int)criticality].Count;
        }
    }

    /// <summary>Takes a slot, waiting up to <paramref name="wait"/> for one (sheddable calls never wait). False when refused.</summary>
    public async Task<bool> AcquireAsync(TimeSpan wait, TimeProvider time, CancellationToken cancellationToken, ProxyCriticality criticality = ProxyCriticality.Default)
    {
        TaskCompletionSource<bool> waiter;
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_gate)
        {
            if (_inFlight < _window)
            {
                _inFlight++;
                _fullThisRound |= _inFlight >= _window;
                return true;
            }

            _fullThisRound = true;
            if (wait <= TimeSpan.Zero || criticality == ProxyCriticality.Sheddable)
            {
                return false;
            }

            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters[(int)criticality].AddLast(waiter);
            _waitingChanged?.Invoke(criticality, _waiters[(int)criticality].Count);
        }

        try
        {
            await waiter.Task.WaitAsync(wait, time, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                if (node.List is { } list)
                {
                    list.Remove(node);
                    _waitingChanged?.Invoke(criticality, list.Count);
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    return false;
                }
            }

            // Granted a slot just as the wait ended: give it back.
            _ = Release(CallOutcome.Success);
            if (ex is OperationCanceledException)
            {
                throw;
            }

            return false;
        }
    }

    /// <summary>Ends a call and applies what it says to the window; true when that cut the window.</summary>
    public bool Release(CallOutcome outcome)
    {
        var cut = false;
        lock (_gate)
        {
            _inFlight = Math.Max(0, _inFlight - 1);
            _completionsSinceCut = _completionsSinceCut == int.MaxValue ? int.MaxValue : _completionsSinceCut + 1;
            if (outcome is CallOutcome.BackendStatus or CallOutcome.Latency)
            {
                if (_completionsSinceCut >= _window)
                {
                    CutUnlocked();
                    _signalCutsSinceEvaluation++;
                    cut = true;
                }
            }
            else if (outcome == CallOutcome.Success && _fullThisRound && !_queryFiring && ++_roundSuccesses >= _window)
            {
                _roundSuccesses = 0;
                _fullThisRound = false;
                _window = Math.Min(EffectiveMaxUnlocked(), _window + 1);
            }

            GrantUnlocked();
        }

        return cut;
    }

    /// <summary>
    /// The verdict of one evaluation of the condition queries. Firing cuts now and holds the window (no additive
    /// increase) until an evaluation finds them quiet again, as proxymw's throttle flag does.
    /// </summary>
    public void SetQueryFiring(bool firing)
    {
        lock (_gate)
        {
            _queryFiring = firing;
            if (firing)
            {
                CutUnlocked();
            }
        }
    }

    /// <summary>Value queries' verdict (0..1); the window never exceeds the allowed share of the range.</summary>
    public void SetAllowance(double allowance)
    {
        lock (_gate)
        {
            _allowance = Math.Clamp(allowance, 0, 1);
            _window = Math.Min(_window, EffectiveMaxUnlocked());
            GrantUnlocked();
        }
    }

    /// <summary>
    /// One evaluation in which a query could not be answered: the window takes one step of at most
    /// <paramref name="step"/> toward <paramref name="failSafe"/>. Down always; up only when the back end's own
    /// signals did not cut since the last evaluation (they still speak while Prometheus cannot) and no query that
    /// did answer fires. Until
    /// <see cref="EndFailSafe"/>, growth stops at the fail-safe value (or where the walk down has got to).
    /// </summary>
    public void MoveTowardFailSafe(int failSafe, int step)
    {
        lock (_gate)
        {
            var target = Math.Clamp(failSafe, _min, _max);
            step = Math.Max(1, step);
            if (_window > target)
            {
                _window = Math.Max(target, _window - step);
            }
            else if (_window < target && _signalCutsSinceEvaluation == 0 && !_queryFiring)
            {
                _window = Math.Min(target, _window + step);
            }

            _failSafeCeiling = Math.Max(target, _window);
            _window = Math.Min(_window, EffectiveMaxUnlocked());
            _signalCutsSinceEvaluation = 0;
            GrantUnlocked();
        }
    }

    /// <summary>Every query answered again: the fail-safe ceiling goes, and AIMD continues from where the window is.</summary>
    public void EndFailSafe()
    {
        lock (_gate)
        {
            _failSafeCeiling = null;
            _signalCutsSinceEvaluation = 0;
        }
    }

    private int EffectiveMaxUnlocked()
    {
        var cap = Math.Max(_min, _min + (int)Math.Floor((_max - _min) * _allowance));
        return _failSafeCeiling is { } ceiling ? Math.Min(cap, ceiling) : cap;
    }

    private void CutUnlocked()
    {
        _window = Math.Max(_min, (int)Math.Floor(_window * _decrease));
        _roundSuccesses = 0;
        _completionsSinceCut = 0;
    }

    private void GrantUnlocked()
    {
        // Highest class first: critical, then default (sheddable calls never wait).
        for (var c = _waiters.Length - 1; c >= 0 && _inFlight < _window; c--)
        {
            var queue = _waiters[c];
            if (queue.Count == 0)
            {
                continue;
            }

            while (_inFlight < _window && queue.First is { } first)
            {
                queue.RemoveFirst();
                if (first.Value.TrySetResult(true))
                {
                    _inFlight++;
                }
            }

            _waitingChanged?.Invoke((ProxyCriticality)c, queue.Count);
        }
    }
}

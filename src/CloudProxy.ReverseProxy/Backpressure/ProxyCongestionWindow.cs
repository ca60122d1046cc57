namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>What a finished back-end call says about congestion.</summary>
public enum CallOutcome
{
    Success = 0,
    BackendStatus = 1,
    Latency = 2,
    Failed = 3,
}

/// <summary>
/// The AIMD concurrency window over back-end calls (after kevindweb/throttle-proxy's proxymw, with its gaps
/// filled): at most <see cref="Window"/> calls at once; a call above it waits briefly for a slot. The window
/// grows by one per round of saturated success (a round = as many successes as the window is wide, in which
/// the window was full at least once, so a proxy with spare room does not inflate it) and is multiplied by the decrease
/// factor when a signal fires: at most once per round for the back end's own signals (one burst of 503s is
/// one congestion event, as in TCP), once per evaluation for a firing query, which also stops growth while it fires. Value queries cap the window
/// smoothly: <c>min + (max - min) × allowance</c>.
/// </summary>
public sealed class ProxyCongestionWindow
{
    private readonly object _gate = new();
    private readonly LinkedList<TaskCompletionSource<bool>> _waiters = new();
    private readonly int _min;
    private readonly int _max;
    private readonly double _decrease;
    private int _window;
    private int _inFlight;
    private int _roundSuccesses;
    private int _completionsSinceCut;
    private double _allowance = 1;
    private bool _queryFiring;
    private bool _fullThisRound;

    public ProxyCongestionWindow(int min, int max, int initial, double decreaseFactor)
    {
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

    /// <summary>True when the last cut came from a signal rather than plain saturation (for the blocked-by-cause metric).</summary>
    public bool Throttled => Window < EffectiveMaxUnlocked() || _allowance < 1;

    /// <summary>Takes a slot, waiting up to <paramref name="wait"/> for one. False when refused.</summary>
    public async Task<bool> AcquireAsync(TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
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
            if (wait <= TimeSpan.Zero)
            {
                return false;
            }

            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
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
                if (node.List is not null)
                {
                    _waiters.Remove(node);
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
        }
    }

    private int EffectiveMaxUnlocked() => Math.Max(_min, _min + (int)Math.Floor((_max - _min) * _allowance));

    private void CutUnlocked()
    {
        _window = Math.Max(_min, (int)Math.Floor(_window * _decrease));
        _roundSuccesses = 0;
        _completionsSinceCut = 0;
    }

    private void GrantUnlocked()
    {
        while (_inFlight < _window && _waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            if (first.Value.TrySetResult(true))
            {
                _inFlight++;
            }
        }
    }
}

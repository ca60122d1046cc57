using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// One retry policy of a Dapr Resiliency resource, decoded as dapr/kit's <c>retry.DecodeConfig</c> does
/// (dapr/kit retry/retry.go@6e5616aa DefaultConfig: constant 5 s, exponential 500 ms × 1.5 ± 50 %, max interval
/// 60 s, max elapsed 15 min, <c>maxRetries</c> -1 = unlimited; the exponential defaults are cenkalti/backoff
/// v4.3.0 exponential.go:79-83@720b7898, the version dapr/dapr go.mod pins).
/// </summary>
public sealed record DaprRetryPolicy
{
    public bool Exponential { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan InitialInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    public double RandomizationFactor { get; init; } = 0.5;

    public double Multiplier { get; init; } = 1.5;

    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan MaxElapsedTime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Retries after the first attempt; -1 is unlimited (then bounded by <see cref="MaxElapsedTime"/> only for exponential).</summary>
    public long MaxRetries { get; init; } = -1;

    /// <summary>A fast policy for tests: <paramref name="retries"/> retries, <paramref name="interval"/> apart.</summary>
    public static DaprRetryPolicy Constant(TimeSpan interval, long retries) => new() { Duration = interval, MaxRetries = retries };

    internal BackOff NewBackOff() => new(this);

    /// <summary>
    /// cenkalti/backoff v4.3.0: <c>WithMaxRetries</c> (tries.go) around a constant or exponential back-off;
    /// exponential.go:171-180 NextBackOff randomizes the current interval, then multiplies it (capped at
    /// MaxInterval), and stops once elapsed + next would pass MaxElapsedTime.
    /// </summary>
    internal sealed class BackOff(DaprRetryPolicy policy)
    {
        private readonly long _started = Environment.TickCount64;
        private TimeSpan _current = policy.InitialInterval;
        private long _tries;

        /// <summary>The wait before the next attempt, or null to stop.</summary>
        public TimeSpan? Next()
        {
            if (policy.MaxRetries == 0 || (policy.MaxRetries > 0 && _tries >= policy.MaxRetries))
            {
                return null;
            }

            _tries++;
            if (!policy.Exponential)
            {
                return policy.Duration;
            }

            var elapsed = TimeSpan.FromMilliseconds(Environment.TickCount64 - _started);
            var delta = policy.RandomizationFactor * _current.Ticks;
            var next = TimeSpan.FromTicks((long)(_current.Ticks - delta + (Random.Shared.NextDouble() * ((2 * delta) + 1))));
            _current = _current.Ticks >= policy.MaxInterval.Ticks / policy.Multiplier
                ? policy.MaxInterval
                : TimeSpan.FromTicks((long)(_current.Ticks * policy.Multiplier));
            return policy.MaxElapsedTime != TimeSpan.Zero && elapsed + next > policy.MaxElapsedTime ? null : next;
        }
    }
}

/// <summary>
/// A circuit breaker of a Resiliency resource, with sony/gobreaker v0.5.0's state machine (gobreaker.go@602fbdec
/// lines 276-380): closed counts failures and trips when <see cref="Trip"/> holds; open rejects every call for
/// <see cref="Timeout"/>; half-open lets <see cref="MaxRequests"/> calls through and closes after as many
/// consecutive successes, or opens again on one failure. dapr/dapr pkg/resiliency/breaker/circuitbreaker.go
/// wraps it; a rejected call is a permanent error that stops the retry loop (policy.go:216-219).
/// </summary>
public sealed partial record DaprCircuitBreakerPolicy
{
    public uint MaxRequests { get; init; } = 1;

    /// <summary>Closed-state count reset period; zero never resets.</summary>
    public TimeSpan Interval { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The trip expression, e.g. <c>consecutiveFailures &gt; 5</c> (gobreaker's default).</summary>
    public string Trip { get; init; } = "consecutiveFailures > 5";

    internal Func<CircuitCounts, bool> CompileTrip()
    {
        var match = TripExpression().Match(Trip);
        if (!match.Success)
        {
            throw new NotSupportedException($"the sidecar double understands trip expressions '<counter> <op> <number>', not '{Trip}'");
        }

        var counter = match.Groups[1].Value;
        var op = match.Groups[2].Value;
        var limit = long.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        return counts =>
        {
            long value = counter switch
            {
                "requests" => counts.Requests,
                "totalSuccesses" => counts.TotalSuccesses,
                "totalFailures" => counts.TotalFailures,
                "consecutiveSuccesses" => counts.ConsecutiveSuccesses,
                _ => counts.ConsecutiveFailures,
            };
            return op switch
            {
                ">" => value > limit,
                ">=" => value >= limit,
                "<" => value < limit,
                "<=" => value <= limit,
                _ => value == limit,
            };
        };
    }

    [GeneratedRegex(@"^\s*(requests|totalSuccesses|totalFailures|consecutiveSuccesses|consecutiveFailures)\s*(>=|<=|==|>|<)\s*(\d+)\s*$")]
    private static partial Regex TripExpression();
}

/// <summary>The policies one target direction gets (Resiliency <c>targets.components.&lt;name&gt;.inbound|outbound</c>).</summary>
public sealed record DaprPolicy(TimeSpan? Timeout = null, DaprRetryPolicy? Retry = null, DaprCircuitBreakerPolicy? CircuitBreaker = null)
{
    public static DaprPolicy None { get; } = new();
}

internal sealed record CircuitCounts(long Requests, long TotalSuccesses, long TotalFailures, long ConsecutiveSuccesses, long ConsecutiveFailures);

/// <summary>Error of an attempt the circuit breaker did not let through (gobreaker ErrOpenState / ErrTooManyRequests).</summary>
public sealed class CircuitBreakerOpenException(string message) : Exception(message);

/// <summary>The attempt did not finish within the policy's timeout (Go: <c>context.DeadlineExceeded</c>).</summary>
public sealed class PolicyTimeoutException(TimeSpan timeout) : Exception($"context deadline exceeded (resiliency timeout {timeout})");

internal sealed class CircuitBreaker
{
    private readonly Lock _lock = new();
    private readonly DaprCircuitBreakerPolicy _policy;
    private readonly Func<CircuitCounts, bool> _trip;
    private State _state = State.Closed;
    private long _generation;
    private long _expiry;
    private long _requests;
    private long _totalSuccesses;
    private long _totalFailures;
    private long _consecutiveSuccesses;
    private long _consecutiveFailures;

    public CircuitBreaker(DaprCircuitBreakerPolicy policy)
    {
        _policy = policy;
        _trip = policy.CompileTrip();
        NewGeneration(Environment.TickCount64);
    }

    private enum State
    {
        Closed,
        HalfOpen,
        Open,
    }

    public string StateName
    {
        get
        {
            lock (_lock)
            {
                return Current(Environment.TickCount64).ToString();
            }
        }
    }

    /// <summary>gobreaker beforeRequest: the generation to report back, or an error when the call is rejected.</summary>
    public (long Generation, Exception? Rejected) Before()
    {
        lock (_lock)
        {
            var state = Current(Environment.TickCount64);
            if (state == State.Open)
            {
                return (_generation, new CircuitBreakerOpenException("circuit breaker is open"));
            }

            if (state == State.HalfOpen && _requests >= Math.Max(1, _policy.MaxRequests))
            {
                return (_generation, new CircuitBreakerOpenException("too many requests"));
            }

            _requests++;
            return (_generation, null);
        }
    }

    public void After(long generation, bool success)
    {
        lock (_lock)
        {
            var now = Environment.TickCount64;
            var state = Current(now);
            if (generation != _generation)
            {
                return;
            }

            if (success)
            {
                _totalSuccesses++;
                _consecutiveSuccesses++;
                _consecutiveFailures = 0;
                if (state == State.HalfOpen && _consecutiveSuccesses >= Math.Max(1, _policy.MaxRequests))
                {
                    SetState(State.Closed, now);
                }
            }
            else if (state == State.Closed)
            {
                _totalFailures++;
                _consecutiveFailures++;
                _consecutiveSuccesses = 0;
                if (_trip(new CircuitCounts(_requests, _totalSuccesses, _totalFailures, _consecutiveSuccesses, _consecutiveFailures)))
                {
                    SetState(State.Open, now);
                }
            }
            else if (state == State.HalfOpen)
            {
                SetState(State.Open, now);
            }
        }
    }

    private State Current(long now)
    {
        if (_state == State.Closed && _expiry != 0 && _expiry < now)
        {
            NewGeneration(now);
        }
        else if (_state == State.Open && _expiry < now)
        {
            SetState(State.HalfOpen, now);
        }

        return _state;
    }

    private void SetState(State state, long now)
    {
        if (_state != state)
        {
            _state = state;
            NewGeneration(now);
        }
    }

    private void NewGeneration(long now)
    {
        _generation++;
        _requests = _totalSuccesses = _totalFailures = _consecutiveSuccesses = _consecutiveFailures = 0;
        _expiry = _state switch
        {
            State.Closed => _policy.Interval <= TimeSpan.Zero ? 0 : now + (long)_policy.Interval.TotalMilliseconds,
            State.Open => now + (long)(_policy.Timeout <= TimeSpan.Zero ? 60_000 : _policy.Timeout.TotalMilliseconds),
            _ => 0,
        };
    }
}

/// <summary>
/// dapr/dapr pkg/resiliency/policy.go@d8450742 NewRunnerWithOptions (lines 123-272): each attempt is wrapped,
/// innermost first, in the timeout (the attempt's result is dropped when it fires, and the accumulator is not
/// called), then the accumulator, then the circuit breaker, then the retry loop. Errors are values here, as in Go:
/// an operation returns null for success.
/// </summary>
internal sealed class DaprPolicyRunner(DaprPolicy policy, CircuitBreaker? breaker)
{
    public DaprPolicy Policy => policy;

    public Task<(T? Result, Exception? Error)> RunAsync<T>(Func<CancellationToken, Task<(T? Result, Exception? Error)>> operation, CancellationToken cancellationToken)
        where T : class =>
        RunAsync(operation, accumulator: null, cancellationToken);

    public async Task<(T? Result, Exception? Error)> RunAsync<T>(
        Func<CancellationToken, Task<(T? Result, Exception? Error)>> operation, Action<T>? accumulator, CancellationToken cancellationToken)
        where T : class
    {
        var backOff = policy.Retry?.NewBackOff();
        while (true)
        {
            var (result, error, permanent) = await AttemptAsync(operation, accumulator, cancellationToken);
            if (error is null || backOff is null || permanent)
            {
                return (result, error);
            }

            var wait = backOff.Next();
            if (wait is not { } delay)
            {
                return (result, cancellationToken.IsCancellationRequested ? new OperationCanceledException(cancellationToken) : error);
            }

            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException ex)
            {
                return (result, ex);
            }
        }
    }

    private async Task<(T? Result, Exception? Error, bool Permanent)> AttemptAsync<T>(
        Func<CancellationToken, Task<(T? Result, Exception? Error)>> operation, Action<T>? accumulator, CancellationToken cancellationToken)
        where T : class
    {
        long generation = 0;
        if (breaker is not null)
        {
            (generation, var rejected) = breaker.Before();
            if (rejected is not null)
            {
                return (null, rejected, true);
            }
        }

        var (result, error) = await TimedAsync(operation, cancellationToken);
        if (result is not null && error is not PolicyTimeoutException)
        {
            accumulator?.Invoke(result);
        }

        breaker?.After(generation, error is null);
        return (result, error, false);
    }

    private async Task<(T? Result, Exception? Error)> TimedAsync<T>(
        Func<CancellationToken, Task<(T? Result, Exception? Error)>> operation, CancellationToken cancellationToken)
        where T : class
    {
        if (policy.Timeout is not { } timeout || timeout <= TimeSpan.Zero)
        {
            return await operation(cancellationToken);
        }

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        var running = operation(attempt.Token);
        var finished = await Task.WhenAny(running, Task.Delay(Timeout.Infinite, attempt.Token));
        if (finished == running)
        {
            return await running;
        }

        // Like the goroutine in policy.go, the operation is left to finish on its own; its result is dropped.
        _ = running.ContinueWith(t => t.Exception, TaskScheduler.Default);
        return (null, cancellationToken.IsCancellationRequested ? new OperationCanceledException(cancellationToken) : new PolicyTimeoutException(timeout));
    }
}

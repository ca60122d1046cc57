using StackExchange.Redis;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Partitions in Redis, shared by every replica. Each check is one Lua script (atomic, one round trip) that
/// reads Redis's own clock, so replicas with skewed clocks still agree. The scripts are
/// <see cref="ProxyRateLimitMath"/> step for step, so a replica that falls back to its own limiter during an
/// outage decides the same way, and both report what is left and when more comes back.
/// </summary>
internal sealed class ProxyRedisRateLimitStore(IConnectionMultiplexer redis) : IProxyRateLimitStore
{
    // Token bucket (ProxyRateLimitMath.TakeToken). Returns {allowed, remaining, reset_ms}.
    private const string TokenBucketScript = """
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1]) or capacity
        local ts = tonumber(state[2]) or now
        tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
        local allowed = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        end
        local whole = math.floor(tokens)
        local reset = 0
        if tokens < capacity then
          reset = math.ceil((1 - (tokens - whole)) / rate)
        end
        redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', math.max(ts, now))
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
        return {allowed, whole, reset}
        """;

    // Sliding window (ProxyRateLimitMath.TakeSliding) over per-minute counters. Returns {allowed, remaining, reset_ms}.
    private const string SlidingWindowScript = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local index = math.floor(now / window)
        local elapsed = now % window
        local ckey = KEYS[1] .. ':' .. index
        local current = tonumber(redis.call('GET', ckey) or '0')
        local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (index - 1)) or '0')
        local used = previous * (window - elapsed) / window + current
        local allowed = 0
        if used + 1 <= limit then
          allowed = 1
          current = redis.call('INCR', ckey)
          redis.call('PEXPIRE', ckey, window * 2)
          used = used + 1
        end
        local remaining = math.max(0, math.floor(limit - used))
        local reset = 0
        if used > 0 then
          local delta = used - (limit - remaining - 1)
          local part = previous * (window - elapsed) / window
          if previous > 0 and delta <= part then
            reset = math.ceil(delta * window / previous)
          elseif current == 0 then
            reset = window - elapsed
          else
            reset = (window - elapsed) + math.ceil((delta - part) * window / current)
          end
        end
        return {allowed, remaining, reset}
        """;

    public async ValueTask<ProxyRateLimitDecision> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken)
    {
        var key = new RedisKey("cloudproxy:rl:" + partition);
        var result = limit.Algorithm == RateLimitAlgorithm.SlidingWindow
            ? await redis.GetDatabase().ScriptEvaluateAsync(SlidingWindowScript, [key], [Math.Max(1, limit.PerMinute), ProxyRateLimitMath.WindowMs])
            : await redis.GetDatabase().ScriptEvaluateAsync(TokenBucketScript, [key],
                [Math.Max(1, limit.Burst), Math.Max(1, limit.PerMinute) / (double)ProxyRateLimitMath.WindowMs]);
        var values = (long[])result!;
        return new ProxyRateLimitDecision(values[0] == 1, (int)values[1], TimeSpan.FromMilliseconds(values[2]));
    }
}

using StackExchange.Redis;

namespace CloudProxy.ReverseProxy.RateLimiting;

/// <summary>
/// Partitions in Redis, shared by every replica. Each check is one Lua script (atomic, one round trip) that
/// reads Redis's own clock, so replicas with skewed clocks still agree. No maintained .NET library does this
/// with System.Threading.RateLimiting semantics on the NuGet feed we use, hence these two short scripts.
/// </summary>
public sealed class ProxyRedisRateLimitStore(IConnectionMultiplexer redis) : IProxyRateLimitStore
{
    // Token bucket: tokens refill continuously at rate per ms up to capacity. Returns {allowed, retry_after_ms}.
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
        local retry = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        else
          retry = math.ceil((1 - tokens) / rate)
        end
        redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', now)
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
        return {allowed, retry}
        """;

    // Sliding window, approximated from the current and previous fixed windows (weighted by overlap).
    private const string SlidingWindowScript = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local current = math.floor(now / window)
        local elapsed = now % window
        local ckey = KEYS[1] .. ':' .. current
        local count = tonumber(redis.call('GET', ckey) or '0')
        local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (current - 1)) or '0')
        if previous * (window - elapsed) / window + count + 1 > limit then
          return {0, window - elapsed}
        end
        redis.call('INCR', ckey)
        redis.call('PEXPIRE', ckey, window * 2)
        return {1, 0}
        """;

    public async ValueTask<(bool Allowed, TimeSpan RetryAfter)> TryAcquireAsync(string partition, ProxyRateLimit limit, CancellationToken cancellationToken)
    {
        var key = new RedisKey("cloudproxy:rl:" + partition);
        var result = limit.Algorithm == RateLimitAlgorithm.SlidingWindow
            ? await redis.GetDatabase().ScriptEvaluateAsync(SlidingWindowScript, [key], [limit.PerMinute, 60_000])
            : await redis.GetDatabase().ScriptEvaluateAsync(TokenBucketScript, [key], [Math.Max(1, limit.Burst), limit.PerMinute / 60_000.0]);
        var values = (long[])result!;
        return (values[0] == 1, TimeSpan.FromMilliseconds(values[1]));
    }
}

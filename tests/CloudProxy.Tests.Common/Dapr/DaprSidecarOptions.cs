using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>
/// The metadata of a <c>pubsub.redis</c> component, with components-contrib's defaults for a pub/sub
/// (common/component/redis/redis.go@c23900d2 lines 137-141: processingTimeout 60 s, redeliverInterval 15 s,
/// queueDepth 100, concurrency 10; settings.go: maxLenApprox and streamTTL unset). <see cref="DaprComponentFiles"/>
/// overrides them with what components/redis/pubsub.yaml says.
/// </summary>
public sealed record RedisStreamsSettings
{
    /// <summary>Consumer group and consumer name; <c>{appID}</c> is replaced by the sidecar's app id.</summary>
    public string ConsumerId { get; init; } = "{appID}";

    public TimeSpan ProcessingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan RedeliverInterval { get; init; } = TimeSpan.FromSeconds(15);

    public int QueueDepth { get; init; } = 100;

    public int Concurrency { get; init; } = 10;

    /// <summary>XADD MAXLEN ~ n; 0 leaves the stream unbounded.</summary>
    public long MaxLenApprox { get; init; }

    /// <summary>XADD MINID ~ (now - ttl); zero is off. Ignored when <see cref="MaxLenApprox"/> is set (go-redis XAddArgs).</summary>
    public TimeSpan StreamTtl { get; init; }

    /// <summary>
    /// How long one XREADGROUP blocks. components-contrib passes readTimeout (default 0 = BLOCK 0, forever); the
    /// double blocks a bounded time so that it can stop, which changes nothing a subscriber sees.
    /// </summary>
    public TimeSpan ReadBlock { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>Everything one <see cref="DaprSidecarDouble"/> is configured with: the daprd flags and the resources it loads.</summary>
public sealed record DaprSidecarOptions
{
    /// <summary>daprd's own default for <c>--max-body-size</c>: dapr/dapr pkg/runtime/config.go@d8450742 line 63 (4 &lt;&lt; 20).</summary>
    public const long DaprdDefaultMaxBodySize = 4L << 20;

    public string AppId { get; init; } = "cloudproxy-test";

    /// <summary>The Redis behind the pub/sub component (and the state stores). Without one no pub/sub is loaded.</summary>
    public RedisServer? Redis { get; init; }

    public string PubSubName { get; init; } = "pubsub";

    public IReadOnlyCollection<string> StateStores { get; init; } = ["statestore"];

    /// <summary>daprd <c>--max-body-size</c>: gRPC MaxRecvMsgSize/MaxSendMsgSize of the API server (pkg/api/grpc/server.go:359-360).</summary>
    public long MaxBodySize { get; init; } = DaprdDefaultMaxBodySize;

    public RedisStreamsSettings RedisStreams { get; init; } = new();

    /// <summary>Resiliency target <c>components.&lt;pubsub&gt;.outbound</c> (daprd → broker, publishes).</summary>
    public DaprPolicy PubSubOutbound { get; init; } = DaprPolicy.None;

    /// <summary>Resiliency target <c>components.&lt;pubsub&gt;.inbound</c> (daprd → app, deliveries).</summary>
    public DaprPolicy PubSubInbound { get; init; } = DaprPolicy.None;

    /// <summary>
    /// Whether every publish call is kept (with its bytes) for <see cref="DaprSidecarDouble.Publishes"/> and
    /// <see cref="DaprSidecarDouble.BulkPublishes"/>. daprd keeps nothing; the benchmarks turn it off so the double
    /// costs what it forwards, not what it remembers (a Dapr round of the durability bench grew it to 1.2 GiB).
    /// </summary>
    public bool RecordCalls { get; init; } = true;

    /// <summary>
    /// The sidecar configured as this repository configures it: components/redis/pubsub.yaml,
    /// components/common/resiliency.yaml and dapr.yaml's <c>maxBodySize</c>, read from the checkout.
    /// </summary>
    public static DaprSidecarOptions FromRepository(RedisServer? redis = null, string appId = "cloudproxy-test") =>
        DaprComponentFiles.Load(DaprComponentFiles.RepoRoot()) with { Redis = redis, AppId = appId };
}

/// <summary>Reads the Dapr resources and run file of this repository into <see cref="DaprSidecarOptions"/>.</summary>
public static partial class DaprComponentFiles
{
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CloudProxy.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("CloudProxy.sln not found above the test binaries");
    }

    public static DaprSidecarOptions Load(string repoRoot)
    {
        var pubsub = Mapping(Path.Combine(repoRoot, "components", "redis", "pubsub.yaml"));
        var name = Scalar(pubsub, "metadata", "name") ?? "pubsub";
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Sequence(pubsub, "spec", "metadata"))
        {
            if (item is YamlMappingNode entry && Scalar(entry, "name") is { } key && Scalar(entry, "value") is { } value)
            {
                meta[key] = value;
            }
        }

        var redis = new RedisStreamsSettings();
        redis = redis with
        {
            ConsumerId = meta.GetValueOrDefault("consumerID", redis.ConsumerId),
            ProcessingTimeout = meta.TryGetValue("processingTimeout", out var pt) ? RedisDuration(pt) : redis.ProcessingTimeout,
            RedeliverInterval = meta.TryGetValue("redeliverInterval", out var ri) ? RedisDuration(ri) : redis.RedeliverInterval,
            QueueDepth = meta.TryGetValue("queueDepth", out var qd) ? int.Parse(qd, CultureInfo.InvariantCulture) : redis.QueueDepth,
            Concurrency = meta.TryGetValue("concurrency", out var c) ? int.Parse(c, CultureInfo.InvariantCulture) : redis.Concurrency,
            MaxLenApprox = meta.TryGetValue("maxLenApprox", out var ml) ? long.Parse(ml, CultureInfo.InvariantCulture) : 0,
            StreamTtl = meta.TryGetValue("streamTTL", out var ttl) ? GoDuration(ttl) : TimeSpan.Zero,
        };

        var resiliency = Mapping(Path.Combine(repoRoot, "components", "common", "resiliency.yaml"));
        var runFile = Mapping(Path.Combine(repoRoot, "dapr.yaml"));
        var maxBody = Scalar(runFile, "common", "maxBodySize");
        return new DaprSidecarOptions
        {
            PubSubName = name,
            RedisStreams = redis,
            MaxBodySize = maxBody is null ? DaprSidecarOptions.DaprdDefaultMaxBodySize : Quantity(maxBody),
            PubSubOutbound = Policy(resiliency, name, "outbound"),
            PubSubInbound = Policy(resiliency, name, "inbound"),
        };
    }

    /// <summary>A Kubernetes resource quantity as daprd's <c>--max-body-size</c> reads it (resource.ParseQuantity).</summary>
    public static long Quantity(string text)
    {
        var match = QuantityPattern().Match(text.Trim());
        if (!match.Success)
        {
            throw new FormatException($"'{text}' is not a resource quantity");
        }

        var number = decimal.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var factor = match.Groups[2].Value switch
        {
            "" => 1m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "Ki" => 1024m,
            "Mi" => 1024m * 1024,
            "Gi" => 1024m * 1024 * 1024,
            var unit => throw new FormatException($"unit '{unit}' of '{text}' is not supported"),
        };
        return (long)(number * factor);
    }

    /// <summary>Go's time.ParseDuration for the units Dapr files use (h, m, s, ms, us, ns), e.g. "1m30s".</summary>
    public static TimeSpan GoDuration(string text)
    {
        var total = TimeSpan.Zero;
        var rest = text.Trim();
        if (rest is "0")
        {
            return total;
        }

        foreach (Match part in DurationPart().Matches(rest))
        {
            var value = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                "us" or "µs" => TimeSpan.FromMicroseconds(value),
                _ => TimeSpan.FromTicks((long)(value / 100)),
            };
            rest = rest.Replace(part.Value, string.Empty, StringComparison.Ordinal);
        }

        return rest.Length == 0 ? total : throw new FormatException($"'{text}' is not a Go duration");
    }

    /// <summary>components-contrib redis.go:151-166: a bare number of processingTimeout/redeliverInterval is milliseconds.</summary>
    public static TimeSpan RedisDuration(string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? TimeSpan.FromMilliseconds(ms) : GoDuration(text);

    /// <summary>dapr/dapr pkg/resiliency/resiliency.go:1088 parseDuration: a bare number is milliseconds.</summary>
    private static TimeSpan ResiliencyDuration(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? TimeSpan.FromMilliseconds(ms) : GoDuration(text);

    private static DaprPolicy Policy(YamlMappingNode resiliency, string component, string direction)
    {
        var target = Node(resiliency, "spec", "targets", "components", component, direction) as YamlMappingNode;
        if (target is null)
        {
            return DaprPolicy.None;
        }

        TimeSpan? timeout = Scalar(target, "timeout") is { } t && Scalar(resiliency, "spec", "policies", "timeouts", t) is { } tv ? ResiliencyDuration(tv) : null;
        DaprRetryPolicy? retry = null;
        if (Scalar(target, "retry") is { } r && Node(resiliency, "spec", "policies", "retries", r) is YamlMappingNode rv)
        {
            var defaults = new DaprRetryPolicy();
            retry = new DaprRetryPolicy
            {
                Exponential = string.Equals(Scalar(rv, "policy"), "exponential", StringComparison.OrdinalIgnoreCase),
                Duration = Scalar(rv, "duration") is { } d ? GoDuration(d) : defaults.Duration,
                InitialInterval = Scalar(rv, "initialInterval") is { } ii ? GoDuration(ii) : defaults.InitialInterval,
                MaxInterval = Scalar(rv, "maxInterval") is { } mi ? GoDuration(mi) : defaults.MaxInterval,
                MaxElapsedTime = Scalar(rv, "maxElapsedTime") is { } me ? GoDuration(me) : defaults.MaxElapsedTime,
                MaxRetries = Scalar(rv, "maxRetries") is { } mr ? long.Parse(mr, CultureInfo.InvariantCulture) : defaults.MaxRetries,
            };
        }

        DaprCircuitBreakerPolicy? breaker = null;
        if (Scalar(target, "circuitBreaker") is { } cb && Node(resiliency, "spec", "policies", "circuitBreakers", cb) is YamlMappingNode cv)
        {
            var defaults = new DaprCircuitBreakerPolicy();
            breaker = new DaprCircuitBreakerPolicy
            {
                MaxRequests = Scalar(cv, "maxRequests") is { } m ? uint.Parse(m, CultureInfo.InvariantCulture) : defaults.MaxRequests,
                Interval = Scalar(cv, "interval") is { } i ? GoDuration(i) : defaults.Interval,
                Timeout = Scalar(cv, "timeout") is { } to ? GoDuration(to) : defaults.Timeout,
                Trip = Scalar(cv, "trip") ?? defaults.Trip,
            };
        }

        return new DaprPolicy(timeout, retry, breaker);
    }

    private static YamlMappingNode Mapping(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(path)))
        {
            stream.Load(reader);
        }

        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlNode? Node(YamlNode root, params string[] path)
    {
        YamlNode? node = root;
        foreach (var part in path)
        {
            node = node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(part), out var child) ? child : null;
        }

        return node;
    }

    private static string? Scalar(YamlNode root, params string[] path) => (Node(root, path) as YamlScalarNode)?.Value;

    private static IEnumerable<YamlNode> Sequence(YamlNode root, params string[] path) =>
        Node(root, path) is YamlSequenceNode seq ? seq.Children : [];

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|k|M|G)?$")]
    private static partial Regex QuantityPattern();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial Regex DurationPart();
}

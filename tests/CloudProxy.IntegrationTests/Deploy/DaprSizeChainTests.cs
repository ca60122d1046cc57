using System.Globalization;
using System.Text;
using CloudProxy.Core.Envelopes;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite;
using CloudProxy.StatsD;
using CloudProxy.Tests.Common.Dapr;
using CloudProxy.Transport.Dapr;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// The size table of components/README.md ("Sizes") against what each Dapr deployment really sets: the chart
/// (with either broker), dapr.yaml with components/, and tye.yaml; against the app's own option defaults; and
/// against the chain itself (an envelope that passes the ingress must fit the publishing sidecar's body limit, the
/// broker's message limit once wrapped as a CloudEvent, and the forwarder's delivery limit once batched).
/// </summary>
public sealed class DaprSizeChainTests
{
    /// <summary>Envelope fields and copied headers on top of the payload (Kestrel allows 32 KiB of request headers).</summary>
    private const long EnvelopeAllowance = 65536;

    /// <summary>A CloudEvent's fields besides data_base64 (ids, topic, trace context with a tracestate of up to 512).</summary>
    private const long CloudEventAllowance = 2048;

    private const long BulkEntryAllowance = 256;
    private const long BulkEnvelopeAllowance = 512;
    private const long GrpcAllowance = 1024;

    /// <summary>tye cannot pass --max-body-size (DaprRunFileTests), so its sidecars have daprd's default.</summary>
    private const long TyeSidecarLimit = DaprSidecarOptions.DaprdDefaultMaxBodySize;

    private static readonly Topic[] Topics =
    [
        new("statsd", "statsd-ingress", "statsd-forwarder", ["statsd-ingress"]),
        new("graphite", "graphite-gateway", "graphite-forwarder", ["graphite-gateway"]),

        // The Sentry forwarder re-queues copies for upstreams still pending, published through its own sidecar.
        new("sentry", "sentry-ingress", "sentry-forwarder", ["sentry-ingress", "sentry-forwarder"]),
    ];

    [Fact]
    public void The_size_table_says_what_its_formulas_give()
    {
        foreach (var row in Table())
        {
            var envelope = row.IngressLimit + EnvelopeAllowance;
            Assert.Equal(envelope, row.Envelope);
            Assert.Equal(CloudEvent(envelope), row.CloudEvent);
            Assert.Equal(Delivery(row.Bulk, row.CloudEvent), row.Delivery);
            Assert.True(row.Delivery <= row.MaxDeliveryBytes, $"{row.Topic}: a delivery of {row.Delivery} bytes is over MaxDeliveryBytes {row.MaxDeliveryBytes}");
        }
    }

    [Fact]
    public void An_envelope_and_its_cloud_event_stay_within_the_table_s_allowances()
    {
        var payload = new byte[100_000];
        var headers = Enumerable.Range(0, 64).ToDictionary(i => $"x-header-{i:D2}", _ => new string('h', 480), StringComparer.OrdinalIgnoreCase);
        var envelope = new Envelope
        {
            Topic = new string('t', 64),
            Kind = new string('k', 64),
            Key = new string('y', 256),
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = new string('s', 512),
            Headers = headers,
            Payload = payload,
        };
        var encoded = EnvelopeCodec.Encode(envelope);
        Assert.InRange(encoded.Length - payload.Length, 0, EnvelopeAllowance);

        var cloudEvent = DaprCloudEvents.Wrap(
            "graphite-forwarder", envelope.Topic, "pubsub", DaprCloudEvents.OctetStream, encoded, envelope.TraceParent, envelope.TraceState);
        Assert.InRange(cloudEvent.Length, 0, CloudEvent(encoded.Length));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("kafka")]
    public async Task The_chart_carries_the_table_from_ingress_to_forwarder(string broker)
    {
        var objects = await HelmChart.RenderAsync("--set", $"broker={broker}");
        var env = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var sidecar = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var deployment in objects.Where(o => o.Kind == "Deployment"))
        {
            var service = deployment.Component!;
            env[service] = deployment.List("spec.template.spec.containers.0.env").Cast<YamlMappingNode>().Select(e => new K8sObject(e))
                .Where(e => e.Scalar("value") is not null)
                .ToDictionary(e => e.Scalar("name")!, e => e.Scalar("value")!, StringComparer.Ordinal);
            sidecar[service] = DaprComponentFiles.Quantity(deployment.Map("spec.template.metadata.annotations")["dapr.io/max-body-size"]);
        }

        var pubsub = objects.Single(o => o.Kind == "Component" && o.Scalar("spec.type")!.StartsWith("pubsub.", StringComparison.Ordinal));
        var resiliency = objects.Single(o => o.Kind == "Resiliency");
        CheckDeployment($"chart (broker={broker})", env, sidecar, Metadata(pubsub), resiliency.Scalar("spec.policies.timeouts.deliver")!, exact: true);
    }

    [Fact]
    public void Dapr_yaml_with_components_carries_the_table_from_ingress_to_forwarder()
    {
        var runFile = YamlNodes.Load(LocalRunFilesTests.RepoFile("dapr.yaml"));
        var common = (YamlMappingNode)runFile.Children[new YamlScalarNode("common")];
        var commonEnv = Map(common, "env");
        var commonLimit = YamlNodes.Scalar(common, "maxBodySize") is { } q ? DaprComponentFiles.Quantity(q) : DaprSidecarOptions.DaprdDefaultMaxBodySize;
        var env = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var sidecar = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var app in ((YamlSequenceNode)runFile.Children[new YamlScalarNode("apps")]).Children.Cast<YamlMappingNode>())
        {
            var id = YamlNodes.Scalar(app, "appID")!;
            env[id] = new Dictionary<string, string>(commonEnv.Concat(Map(app, "env")).GroupBy(kv => kv.Key).Select(g => g.Last()), StringComparer.Ordinal);
            sidecar[id] = YamlNodes.Scalar(app, "maxBodySize") is { } own ? DaprComponentFiles.Quantity(own) : commonLimit;
        }

        foreach (var broker in new[] { "redis", "kafka" })
        {
            CheckDeployment($"dapr.yaml + components/{broker}", env, sidecar, ComponentMetadata(broker), DeliverTimeoutOfComponents(), exact: true);
        }
    }

    [Fact]
    public void Tye_yaml_carries_what_fits_its_4_MiB_sidecars_from_ingress_to_forwarder()
    {
        var tye = LocalRunFilesTests.RepoFile("tye.yaml");
        var env = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var sidecar = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var service in ((YamlSequenceNode)YamlNodes.Load(tye).Children[new YamlScalarNode("services")]).Children.Cast<YamlMappingNode>())
        {
            var name = YamlNodes.Scalar(service, "name")!;
            env[name] = (YamlNodes.Child(service, "env") as YamlSequenceNode)?.Children.Cast<YamlMappingNode>()
                .ToDictionary(e => YamlNodes.Scalar(e, "name")!, e => YamlNodes.Scalar(e, "value")!, StringComparer.Ordinal) ?? new Dictionary<string, string>();
            sidecar[name] = TyeSidecarLimit;
        }

        // Tye loads components/redis only (one --components-path), and no resiliency file: no deliver timeout.
        CheckDeployment("tye.yaml + components/redis", env, sidecar, ComponentMetadata("redis"), deliverTimeout: null, exact: false);
    }

    private static void CheckDeployment(
        string deployment, Dictionary<string, IReadOnlyDictionary<string, string>> env, Dictionary<string, long> sidecarLimit,
        IReadOnlyDictionary<string, string> pubsub, string? deliverTimeout, bool exact)
    {
        var problems = new List<string>();
        var table = Table().ToDictionary(r => r.Topic, StringComparer.Ordinal);
        var redis = !pubsub.ContainsKey("brokers");
        var concurrency = redis ? int.Parse(pubsub.GetValueOrDefault("concurrency", "10"), CultureInfo.InvariantCulture) : int.MaxValue;
        foreach (var topic in Topics)
        {
            var row = table[topic.Name];
            var ingress = Options(env, topic.Ingress);
            var forwarder = Options(env, topic.Forwarder);
            var limit = IngressLimit(topic.Name, ingress);
            var bulkSetting = forwarder.Get<TransportOptions>(TransportOptions.Section).BulkSubscribeMaxMessages;
            var bulk = bulkSetting <= 1 ? 1 : Math.Min(bulkSetting, concurrency);
            var maxDelivery = forwarder.Get<DaprTransportOptions>(TransportOptions.Section).MaxDeliveryBytes;
            if (exact ? limit != row.IngressLimit : limit > row.IngressLimit)
            {
                problems.Add($"{topic.Name}: ingress limit {limit}, the table says {row.IngressLimit}");
            }

            if (bulkSetting != row.Bulk || maxDelivery != row.MaxDeliveryBytes)
            {
                problems.Add($"{topic.Forwarder}: bulk {bulkSetting} and MaxDeliveryBytes {maxDelivery}, the table says {row.Bulk} and {row.MaxDeliveryBytes}");
            }

            if (redis && bulkSetting > concurrency)
            {
                problems.Add($"{topic.Forwarder}: BulkSubscribeMaxMessages {bulkSetting} is over the Redis component's concurrency {concurrency}: batches never fill");
            }

            var envelope = limit + EnvelopeAllowance;
            foreach (var publisher in topic.Publishers)
            {
                var request = Math.Max(envelope, Options(env, publisher).Get<DaprTransportOptions>(TransportOptions.Section).BulkPublishMaxBytes) + GrpcAllowance;
                if (request > sidecarLimit[publisher])
                {
                    problems.Add($"{publisher}: a publish of {request} bytes is over its sidecar's body limit {sidecarLimit[publisher]} (ResourceExhausted)");
                }
            }

            var cloudEvent = CloudEvent(envelope);
            if (pubsub.TryGetValue("maxMessageBytes", out var kafkaLimit) && cloudEvent > long.Parse(kafkaLimit, CultureInfo.InvariantCulture))
            {
                problems.Add($"{topic.Name}: a CloudEvent of {cloudEvent} bytes is over Kafka's maxMessageBytes {kafkaLimit}");
            }

            if (Delivery(bulk, cloudEvent) > maxDelivery)
            {
                problems.Add($"{topic.Forwarder}: a delivery of {Delivery(bulk, cloudEvent)} bytes is over its MaxDeliveryBytes {maxDelivery} (413, retried, then dropped)");
            }
        }

        if (redis && deliverTimeout is not null)
        {
            var queueDepth = int.Parse(pubsub.GetValueOrDefault("queueDepth", "100"), CultureInfo.InvariantCulture);
            var processing = DaprComponentFiles.RedisDuration(pubsub.GetValueOrDefault("processingTimeout", "60s"));
            var worst = DaprComponentFiles.GoDuration(deliverTimeout) * ((2.0 * queueDepth / concurrency) + 1);
            if (worst > processing / 2)
            {
                problems.Add($"Redis: an entry read ahead may wait {worst} for its delivery, over half of processingTimeout {processing}");
            }
        }

        if (redis && (!pubsub.TryGetValue("maxLenApprox", out var maxLen) || long.Parse(maxLen, CultureInfo.InvariantCulture) <= 0) && !pubsub.ContainsKey("streamTTL"))
        {
            problems.Add("Redis: the stream is unbounded (no maxLenApprox or streamTTL)");
        }

        Assert.True(problems.Count == 0, $"{deployment}:\n{string.Join("\n", problems)}");
    }

    private static long IngressLimit(string topic, IConfiguration settings) => topic switch
    {
        "statsd" => settings.Get<StatsDOptions>(StatsDOptions.Section).Ingress.MaxBodyBytes,
        "graphite" => settings.Get<GraphiteOptions>(GraphiteOptions.Section).Gateway.MaxDecompressedBytes,
        _ => Math.Max(
            Math.Max(settings.Get<CloudProxy.Sentry.SentryOptions>(CloudProxy.Sentry.SentryOptions.Section).Ingress.MaxEnvelopeBytes, settings.Get<CloudProxy.Sentry.SentryOptions>(CloudProxy.Sentry.SentryOptions.Section).Ingress.MaxAttachmentBytes),
            settings.Get<CloudProxy.Sentry.SentryOptions>(CloudProxy.Sentry.SentryOptions.Section).Ingress.MaxEventBytes),
    };

    private static long CloudEvent(long envelope) => (4 * ((envelope + 2) / 3)) + CloudEventAllowance;

    private static long Delivery(long bulk, long cloudEvent) => (bulk * (cloudEvent + BulkEntryAllowance)) + BulkEnvelopeAllowance;

    /// <summary>The service's configuration as the host would bind it from those environment variables (defaults otherwise).</summary>
    private static IConfiguration Options(Dictionary<string, IReadOnlyDictionary<string, string>> env, string service) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(env.GetValueOrDefault(service, new Dictionary<string, string>())
                .Where(kv => kv.Key.StartsWith("CloudProxy__", StringComparison.Ordinal))
                .Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)))
            .Build();

    private static IReadOnlyDictionary<string, string> ComponentMetadata(string broker) =>
        Metadata(HelmChart.Parse(File.ReadAllText(Path.Combine(HelmChart.RepoRoot, "components", broker, "pubsub.yaml"))).Single());

    private static string DeliverTimeoutOfComponents() =>
        HelmChart.Parse(File.ReadAllText(Path.Combine(HelmChart.RepoRoot, "components", "common", "resiliency.yaml"))).Single()
            .Scalar("spec.policies.timeouts.deliver")!;

    private static Dictionary<string, string> Metadata(K8sObject component) =>
        component.List("spec.metadata").Cast<YamlMappingNode>().Select(m => new K8sObject(m))
            .Where(m => m.Scalar("value") is not null)
            .ToDictionary(m => m.Scalar("name")!, m => m.Scalar("value")!, StringComparer.Ordinal);

    /// <summary>The rows of the size table in components/README.md.</summary>
    private static List<Row> Table()
    {
        var rows = new List<Row>();
        var readme = File.ReadAllText(Path.Combine(HelmChart.RepoRoot, "components", "README.md"));
        foreach (var line in readme.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length != 8 || !Topics.Any(t => cells[0] == $"`{t.Name}`"))
            {
                continue;
            }

            long N(int i) => long.Parse(cells[i], CultureInfo.InvariantCulture);
            rows.Add(new Row(cells[0].Trim('`'), N(2), N(3), N(4), (int)N(5), N(6), N(7)));
        }

        Assert.Equal(Topics.Select(t => t.Name), rows.Select(r => r.Topic));
        return rows;
    }

    private static Dictionary<string, string> Map(YamlMappingNode map, string key) =>
        YamlNodes.Child(map, key) is YamlMappingNode child
            ? child.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? string.Empty, StringComparer.Ordinal)
            : [];

    private sealed record Topic(string Name, string Ingress, string Forwarder, string[] Publishers);

    private sealed record Row(string Topic, long IngressLimit, long Envelope, long CloudEvent, int Bulk, long Delivery, long MaxDeliveryBytes);
}

internal static class ConfigurationExtensions
{
    /// <summary>Binds <typeparamref name="T"/> from <paramref name="section"/>, its defaults where nothing is set.</summary>
    public static T Get<T>(this IConfiguration configuration, string section)
        where T : new() => configuration.GetSection(section).Get<T>() ?? new T();
}

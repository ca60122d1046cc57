using CloudProxy.IntegrationTests.Deploy.Models;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// Every object the chart renders, checked against the API's own model of its kind (not just "is it a mapping"):
/// built-in kinds with the official Kubernetes client's typed models (strict decode, re-encode, compare), Dapr's
/// Component/Configuration/Resiliency with the fields of their Go types, ServiceMonitor/PrometheusRule with the
/// Prometheus operator's CRDs. A misspelt or misplaced field would otherwise be dropped by the API server or by
/// the operator without a word, and the setting silently lost.
/// </summary>
public sealed class RenderedManifestTests
{
    /// <summary>Values that turn on every optional object and field of the chart.</summary>
    private const string Everything = """
        broker: kafka
        kafka: {authType: password, saslUsername: cloudproxy, saslPasswordSecretKey: kafka-password}
        redis: {passwordSecretKey: redis-password, enableTLS: true}
        imagePullSecrets: [{name: registry}]
        dapr:
          sidecarResources: {cpuRequest: 50m, memoryRequest: 64Mi, cpuLimit: "1", memoryLimit: 256Mi}
          tracing: {otlpEndpoint: "otel-collector:4317", otlpSecure: true}
        otel: {endpoint: "http://otel-collector:4317"}
        secrets: {values: {statsd-jwt-secret: s3cret, redis-password: pw, kafka-password: pw}}
        settings: {"Outbox:Capacity": 1000}
        podLabels: {team: telemetry}
        podAnnotations: {example.com/owner: telemetry}
        nodeSelector: {kubernetes.io/os: linux}
        tolerations: [{key: dedicated, operator: Equal, value: telemetry, effect: NoSchedule}]
        affinity:
          podAntiAffinity:
            preferredDuringSchedulingIgnoredDuringExecution:
              - weight: 100
                podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app.kubernetes.io/name: cloudproxy}}}
        services:
          statsd-ingress: {autoscaling: {enabled: true}, pdb: {maxUnavailable: "50%"}}
          reverse-proxy: {ingressPaths: [/]}
        serviceMonitor: {enabled: true, labels: {release: prometheus}}
        prometheusRule: {enabled: true, labels: {release: prometheus}}
        ingress:
          enabled: true
          className: nginx
          annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 128m}
          tls: {secretName: telemetry-tls}
        """;

    public static TheoryData<string> Variants => new() { "defaults", "broker=kafka", "everything", "dapr off" };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Every_rendered_object_fits_the_api_s_own_model_of_its_kind(string variant)
    {
        var objects = await RenderAsync(variant);
        Assert.NotEmpty(objects);
        if (variant == "everything")
        {
            Assert.Equal(
                ["Component", "ConfigMap", "Configuration", "Deployment", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "PrometheusRule", "Resiliency", "Secret", "Service", "ServiceMonitor"],
                objects.Select(o => o.Kind).Distinct().Order(StringComparer.Ordinal));
        }

        var problems = objects.SelectMany(o => ManifestModels.Check(o).Select(p => $"{o}: {p}")).ToList();

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    // Built-in kinds (the Kubernetes client's models): a misspelt field, a misplaced one, a number written as a string.
    [InlineData("Deployment", "containerPort:", "containerPorts:", "containerPorts")]
    [InlineData("Deployment", "      terminationGracePeriodSeconds:", "      terminationGracePeriod:", "terminationGracePeriod")]
    [InlineData("Service", "\nspec:\n", "\nspec:\n  targetPort: http\n", "targetPort")]
    [InlineData("Service", "port: 8841", "port: \"8841\"", ".spec.ports[0].port: written \"8841\", the model reads 8841")]
    [InlineData("HorizontalPodAutoscaler", "averageUtilization: 70", "averageUtilization: \"70\"", ".averageUtilization")]
    // Dapr (Go types): a misspelt field, a misplaced one, metadata checked with ObjectMeta's model.
    [InlineData("Component", "secretStore:", "secretstore:", "Auth (components/v1alpha1/types.go:114) has no field 'secretstore'")]
    [InlineData("Component", "  type: pubsub.", "  scopes: [statsd-ingress]\n  type: pubsub.", "ComponentSpec (components/v1alpha1/types.go:103) has no field 'scopes'")]
    [InlineData("Component", "  labels:", "  label:", "Component.metadata: V1ObjectMeta")]
    [InlineData("Configuration", "samplingRate:", "sampleRate:", "TracingSpec (configuration/v1alpha1/types.go:324) has no field 'sampleRate'")]
    [InlineData("Resiliency", "maxRetries: 5", "maxRetries: five", "Resiliency.spec.policies.retries.publish.maxRetries: expected int, found string 'five'")]
    [InlineData("Resiliency", "circuitBreakers:", "circuitbreakers:", "Policies (resiliency/v1alpha1/types.go:114) has no field 'circuitbreakers'")]
    // Prometheus operator (its CRDs).
    [InlineData("ServiceMonitor", "interval:", "intervall:", "ServiceMonitor.spec.endpoints[0].intervall")]
    [InlineData("ServiceMonitor", "interval: 30s", "interval: 30 seconds", "does not match")]
    [InlineData("PrometheusRule", "- alert:", "- alrt:", "has no field 'alrt'")]
    public async Task A_misspelt_misplaced_or_mistyped_field_fails_the_model_check_of_its_kind(string kind, string from, string to, string expected)
    {
        var rendered = (await RenderAsync("everything")).First(o => o.Kind == kind);
        Assert.Empty(ManifestModels.Check(rendered));
        Assert.Contains(from, rendered.Text, StringComparison.Ordinal);
        var broken = Parse(ReplaceFirst(rendered.Text, from, to));

        var problems = ManifestModels.Check(broken);

        Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)), $"expected a problem with '{expected}', got:\n{string.Join('\n', problems)}");
    }

    private static Task<IReadOnlyList<K8sObject>> RenderAsync(string variant) => variant switch
    {
        "defaults" => HelmChart.RenderAsync(),
        "broker=kafka" => HelmChart.RenderAsync("--set", "broker=kafka"),
        "dapr off" => HelmChart.RenderAsync("--set", "dapr.enabled=false"),
        "everything" => RenderWithValuesAsync(Everything),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    private static async Task<IReadOnlyList<K8sObject>> RenderWithValuesAsync(string values)
    {
        var file = Path.Combine(Path.GetTempPath(), $"cloudproxy-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, values);
        try
        {
            return await HelmChart.RenderAsync("-f", file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static K8sObject Parse(string yaml) => Assert.Single(HelmChart.Parse(yaml));

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return text[..at] + to + text[(at + from.Length)..];
    }
}

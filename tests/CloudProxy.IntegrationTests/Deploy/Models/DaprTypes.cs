using static CloudProxy.IntegrationTests.Deploy.Models.Yaml;

namespace CloudProxy.IntegrationTests.Deploy.Models;

/// <summary>
/// Dapr's custom resources as their Go types declare them: github.com/dapr/dapr at commit
/// d8450742ce3260d93a2346f4398a1e60d019a45b, pkg/apis/components/v1alpha1/types.go, pkg/apis/configuration/v1alpha1/types.go,
/// pkg/apis/resiliency/v1alpha1/types.go and pkg/apis/common/namevalue.go, scoped.go. One entry per json tag, each
/// struct named with the file line it starts on; <c>,inline</c> members are spread into their parent, as
/// encoding/json does. <c>DynamicValue</c> (apiextensionsv1.JSON) is schemaless. metav1.Duration is a string.
/// </summary>
internal static class DaprTypes
{
    private static readonly Shape S = ScalarShape.String;
    private static readonly Shape B = ScalarShape.Bool;
    private static readonly Shape I = ScalarShape.Int;
    private static readonly Shape Strings = new ListShape(ScalarShape.String);

    // metav1.TypeMeta (inline) and metav1.ObjectMeta, the latter checked with the Kubernetes client's own model.
    private static (string, Shape)[] Meta => [("apiVersion", S), ("kind", S), ("metadata", KubernetesModels.ObjectMeta)];

    // pkg/apis/common/namevalue.go
    private static readonly Shape SecretKeyRef = Struct("SecretKeyRef (common/namevalue.go:54)", ("name", S), ("key", S));
    private static readonly Shape NameValuePair = Struct(
        "NameValuePair (common/namevalue.go:25)", ("name", S), ("value", AnyShape.Instance), ("secretKeyRef", SecretKeyRef), ("envRef", S));

    // pkg/apis/components/v1alpha1/types.go
    public static readonly Shape Component = Struct(
        "Component (components/v1alpha1/types.go:37)",
        [.. Meta,
        ("spec", Struct(
            "ComponentSpec (components/v1alpha1/types.go:103)",
            ["type", "version", "metadata"],
            ("type", S), ("version", S), ("ignoreErrors", B), ("metadata", new ListShape(NameValuePair)), ("initTimeout", S))),
        ("auth", Struct("Auth (components/v1alpha1/types.go:114)", ("secretStore", S))),
        ("scopes", Strings)]);

    // pkg/apis/configuration/v1alpha1/types.go
    private static readonly Shape Selector = Struct(
        "SelectorSpec (configuration/v1alpha1/types.go:313)",
        ("fields", new ListShape(Struct("SelectorField (configuration/v1alpha1/types.go:318)", ("field", S), ("value", S)))));

    private static readonly Shape Pipeline = Struct(
        "PipelineSpec (configuration/v1alpha1/types.go:269)",
        ("handlers", new ListShape(Struct("HandlerSpec (configuration/v1alpha1/types.go:274)", ["name", "type"], ("name", S), ("type", S), ("selector", Selector)))));

    private static readonly Shape Metric = Struct(
        "MetricSpec (configuration/v1alpha1/types.go:354)",
        ("enabled", B),
        ("recordErrorCodes", B),
        ("http", Struct("MetricHTTP (configuration/v1alpha1/types.go:389)", ("increasedCardinality", B), ("pathMatching", Strings), ("excludeVerbs", B))),
        ("rules", new ListShape(Struct(
            "MetricsRule (configuration/v1alpha1/types.go:403)",
            ("name", S),
            ("labels", new ListShape(Struct("MetricLabel (configuration/v1alpha1/types.go:409)", ("name", S), ("regex", new MapShape(S)))))))),
        ("latencyDistributionBuckets", new ListShape(I)),
        ("workflow", Struct("WorkflowMetrics (configuration/v1alpha1/types.go:374)", ("latencyDistributionBuckets", new ListShape(I)), ("latencyDistributionUnits", S))));

    private static readonly Shape ConcurrencyLimit = Struct("NamedConcurrencyLimit (configuration/v1alpha1/types.go:181)", ("name", S), ("maxConcurrent", I));

    private static readonly Shape AccessRule = Struct("APIAccessRule (configuration/v1alpha1/types.go:238)", ("name", S), ("version", S), ("protocol", S));

    public static readonly Shape Configuration = Struct(
        "Configuration (configuration/v1alpha1/types.go:34)",
        [.. Meta,
        ("spec", Struct(
            "ConfigurationSpec (configuration/v1alpha1/types.go:105)",
            ("appHttpPipeline", Pipeline),
            ("httpPipeline", Pipeline),
            ("tracing", Struct(
                "TracingSpec (configuration/v1alpha1/types.go:324)",
                ("samplingRate", S),
                ("stdout", B),
                ("zipkin", Struct("ZipkinSpec (configuration/v1alpha1/types.go:349)", ("endpointAddress", S))),
                ("otel", Struct(
                    "OtelSpec (configuration/v1alpha1/types.go:335)",
                    ("protocol", S), ("endpointAddress", S), ("isSecure", B), ("headers", new ListShape(NameValuePair)), ("timeout", S))))),
            ("metric", Metric),
            ("metrics", Metric),
            ("mtls", Struct(
                "MTLSSpec (configuration/v1alpha1/types.go:282)",
                ("enabled", B), ("workloadCertTTL", S), ("allowedClockSkew", S), ("sentryAddress", S), ("controlPlaneTrustDomain", S),
                ("tokenValidators", new ListShape(Struct("ValidatorSpec (configuration/v1alpha1/types.go:304)", ("name", S), ("options", AnyShape.Instance)))))),
            ("secrets", Struct(
                "SecretsSpec (configuration/v1alpha1/types.go:253)",
                ("scopes", new ListShape(Struct(
                    "SecretsScope (configuration/v1alpha1/types.go:258)",
                    ("storeName", S), ("defaultAccess", S), ("allowedSecrets", Strings), ("deniedSecrets", Strings)))))),
            ("accessControl", Struct(
                "AccessControlSpec (configuration/v1alpha1/types.go:436)",
                ("defaultAction", S),
                ("trustDomain", S),
                ("policies", new ListShape(Struct(
                    "AppPolicySpec (configuration/v1alpha1/types.go:415)",
                    ("appId", S), ("defaultAction", S), ("trustDomain", S), ("namespace", S),
                    ("operations", new ListShape(Struct("AppOperationAction (configuration/v1alpha1/types.go:428)", ("name", S), ("action", S), ("httpVerb", Strings))))))))),
            ("nameResolution", Struct(
                "NameResolutionSpec (configuration/v1alpha1/types.go:246)", ("component", S), ("version", S), ("configuration", AnyShape.Instance))),
            ("features", new ListShape(Struct("FeatureSpec (configuration/v1alpha1/types.go:446)", ("name", S), ("enabled", B)))),
            ("api", Struct("APISpec (configuration/v1alpha1/types.go:220)", ("allowed", new ListShape(AccessRule)), ("denied", new ListShape(AccessRule)))),
            ("components", Struct("ComponentsSpec (configuration/v1alpha1/types.go:452)", ("deny", Strings))),
            ("logging", Struct(
                "LoggingSpec (configuration/v1alpha1/types.go:459)",
                ("apiLogging", Struct("APILoggingSpec (configuration/v1alpha1/types.go:466)", ("enabled", B), ("obfuscateURLs", B), ("omitHealthChecks", B))))),
            ("wasm", Struct("WasmSpec (configuration/v1alpha1/types.go:230)", ("strictSandbox", B))),
            ("workflow", Struct(
                "WorkflowSpec (configuration/v1alpha1/types.go:139)",
                ("maxConcurrentWorkflowInvocations", I),
                ("maxConcurrentActivityInvocations", I),
                ("globalMaxConcurrentWorkflowInvocations", I),
                ("globalMaxConcurrentActivityInvocations", I),
                ("workflowConcurrencyLimits", new ListShape(ConcurrencyLimit)),
                ("activityConcurrencyLimits", new ListShape(ConcurrencyLimit)),
                ("stateRetentionPolicy", Struct(
                    "WorkflowStateRetentionPolicy (configuration/v1alpha1/types.go:197)",
                    ("anyTerminal", S), ("completed", S), ("failed", S), ("terminated", S))))))),
        ]);

    // pkg/apis/resiliency/v1alpha1/types.go
    private static readonly Shape PolicyNames = Struct("PolicyNames (resiliency/v1alpha1/types.go:154)", ("timeout", S), ("retry", S), ("circuitBreaker", S));

    public static readonly Shape Resiliency = Struct(
        "Resiliency (resiliency/v1alpha1/types.go:31)",
        [.. Meta,
        ("spec", Struct(
            "ResiliencySpec (resiliency/v1alpha1/types.go:109)",
            ("policies", Struct(
                "Policies (resiliency/v1alpha1/types.go:114)",
                ("timeouts", new MapShape(S)),
                ("retries", new MapShape(Struct(
                    "Retry (resiliency/v1alpha1/types.go:120)",
                    ("policy", S), ("duration", S), ("maxInterval", S), ("maxRetries", I),
                    ("matching", Struct("RetryMatching (resiliency/v1alpha1/types.go:129)", ("httpStatusCodes", S), ("gRPCStatusCodes", S)))))),
                ("circuitBreakers", new MapShape(Struct(
                    "CircuitBreaker (resiliency/v1alpha1/types.go:136)", ("maxRequests", I), ("interval", S), ("timeout", S), ("trip", S)))))),
            ("targets", Struct(
                "Targets (resiliency/v1alpha1/types.go:143)",
                ("apps", new MapShape(Struct(
                    "EndpointPolicyNames (resiliency/v1alpha1/types.go:160)",
                    ("timeout", S), ("retry", S), ("circuitBreaker", S), ("circuitBreakerCacheSize", I)))),
                ("actors", new MapShape(Struct(
                    "ActorPolicyNames (resiliency/v1alpha1/types.go:167)",
                    ("timeout", S), ("retry", S), ("circuitBreaker", S), ("circuitBreakerScope", S), ("circuitBreakerCacheSize", I)))),
                ("components", new MapShape(Struct(
                    "ComponentPolicyNames (resiliency/v1alpha1/types.go:149)", ("inbound", PolicyNames), ("outbound", PolicyNames)))))))),
        ("scopes", Strings)]);
}

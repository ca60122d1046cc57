using System.Globalization;
using System.Text;
using CloudProxy.Core.Hosting;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// The Helm chart, rendered with Helm's template engine and checked object by object: what each service gets,
/// what the broker switch changes, where secrets go, and that the chart, dapr.yaml, tye.yaml and the binary
/// agree on the services and their ports.
/// </summary>
public sealed class HelmChartTests
{
    private static readonly string[] SecretKeys = ["statsd-jwt-secret", "redis-password", "kafka-password"];

    [Fact]
    public async Task Every_enabled_service_gets_a_deployment_whose_sidecar_container_probes_and_service_agree()
    {
        var objects = await HelmChart.RenderAsync();
        var services = ChartServices();
        Assert.NotEmpty(services);
        foreach (var (name, port) in services)
        {
            var deployment = Single(objects, "Deployment", name);
            var pod = "spec.template";
            var annotations = deployment.Map(pod + ".metadata.annotations");
            Assert.Equal("true", annotations["dapr.io/enabled"]);
            Assert.Equal(name, annotations["dapr.io/app-id"]);
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), annotations["dapr.io/app-port"]);
            Assert.Equal("/healthz", annotations["dapr.io/app-health-check-path"]);
            Assert.Contains(objects, o => o.Kind == "Configuration" && o.Name == annotations["dapr.io/config"]);

            var container = deployment.Node(pod + ".spec.containers.0") as YamlMappingNode;
            Assert.NotNull(container);
            var c = new K8sObject(container);
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), c.Scalar("ports.0.containerPort"));
            Assert.Equal("http", c.Scalar("ports.0.name"));
            Assert.Equal("/healthz", c.Scalar("livenessProbe.httpGet.path"));
            Assert.Equal("/readyz", c.Scalar("readinessProbe.httpGet.path"));
            Assert.Equal("http", c.Scalar("livenessProbe.httpGet.port"));
            Assert.Equal("http", c.Scalar("readinessProbe.httpGet.port"));
            var args = c.List("args").Select(a => ((YamlScalarNode)a).Value).ToList();
            Assert.Equal(["--services", name, "--transport", "dapr", "--urls", $"http://0.0.0.0:{port}"], args);

            var service = Single(objects, "Service", name);
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), service.Scalar("spec.ports.0.port"));
            Assert.Equal("http", service.Scalar("spec.ports.0.targetPort"));
            Assert.Equal(deployment.Map("spec.selector.matchLabels"), service.Map("spec.selector"));
            Assert.Equal(deployment.Map("spec.selector.matchLabels"), Single(objects, "PodDisruptionBudget", name).Map("spec.selector.matchLabels"));
        }
    }

    [Theory]
    [InlineData("sentry-ingress", 100)]
    [InlineData("sentry-forwarder", 100)]
    [InlineData("statsd-ingress", 16)]
    public async Task Sidecars_that_carry_large_bodies_have_dapr_s_4_MB_limit_raised(string service, int atLeastMb)
    {
        var annotations = Single(await HelmChart.RenderAsync(), "Deployment", service).Map("spec.template.metadata.annotations");
        Assert.True(int.Parse(annotations["dapr.io/http-max-request-size"], CultureInfo.InvariantCulture) >= atLeastMb);
        Assert.Equal(annotations["dapr.io/http-max-request-size"] + "Mi", annotations["dapr.io/max-body-size"]);
    }

    [Fact]
    public async Task Every_pod_runs_as_non_root_on_a_read_only_root_with_a_writable_spool_volume()
    {
        foreach (var deployment in (await HelmChart.RenderAsync()).Where(o => o.Kind == "Deployment"))
        {
            Assert.Equal("true", deployment.Scalar("spec.template.spec.securityContext.runAsNonRoot"));
            Assert.Equal("true", deployment.Scalar("spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem"));
            Assert.Equal("false", deployment.Scalar("spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation"));
            var mounts = deployment.List("spec.template.spec.containers.0.volumeMounts").Cast<YamlMappingNode>().Select(m => new K8sObject(m).Scalar("mountPath"));
            Assert.Contains("/data", mounts);
            Assert.Contains("/tmp", mounts);
            var env = Env(deployment);
            Assert.Equal("/data/spool", env["CloudProxy__Spool__Path"]);
        }
    }

    [Fact]
    public async Task Switching_the_broker_to_kafka_changes_only_the_pubsub_component()
    {
        var redis = await HelmChart.RenderAsync("--set", "broker=redis");
        var kafka = await HelmChart.RenderAsync("--set", "broker=kafka");
        Assert.Equal(redis.Select(o => o.ToString()), kafka.Select(o => o.ToString()));

        var differing = redis.Zip(kafka).Where(p => p.First.Text != p.Second.Text).Select(p => p.First).ToList();
        var pubsub = Assert.Single(differing);
        Assert.Equal("Component", pubsub.Kind);
        Assert.Equal("pubsub", pubsub.Name);
        Assert.Equal("pubsub.redis", pubsub.Scalar("spec.type"));
        Assert.Equal("pubsub.kafka", kafka.Single(o => o.Kind == "Component" && o.Name == "pubsub").Scalar("spec.type"));
    }

    [Fact]
    public async Task An_unknown_broker_is_refused_with_a_reason()
    {
        // By values.schema.json before rendering, and by the template itself when the schema is skipped.
        var (code, stderr) = await HelmChart.TryRenderAsync("--set", "broker=rabbitmq");
        var (skipped, templateError) = await HelmChart.TryRenderAsync("--set", "broker=rabbitmq", "--skip-schema-validation");
        Assert.NotEqual(0, code);
        Assert.Contains("- broker: broker must be one of the following: \"redis\", \"kafka\"", stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, skipped);
        Assert.Contains("broker must be redis or kafka", templateError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_secret_value_appears_in_a_deployment_or_component_only_in_the_secret()
    {
        var markers = SecretKeys.ToDictionary(k => k, k => $"s3cret-{k}-{Guid.NewGuid():N}");
        var args = markers.SelectMany(kv => new[] { "--set", $"secrets.values.{kv.Key}={kv.Value}" })
            .Concat(["--set", "redis.passwordSecretKey=redis-password", "--set", "broker=kafka", "--set", "kafka.authType=password",
                "--set", "kafka.saslUsername=cloudproxy", "--set", "kafka.saslPasswordSecretKey=kafka-password"])
            .ToArray();
        var objects = await HelmChart.RenderAsync(args);

        var secret = Assert.Single(objects, o => o.Kind == "Secret");
        foreach (var (key, value) in markers)
        {
            Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(value)), secret.Scalar("data." + key));
            foreach (var o in objects.Where(o => o.Kind != "Secret"))
            {
                Assert.DoesNotContain(value, o.Text, StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(value)), o.Text, StringComparison.Ordinal);
            }
        }

        // The services and the components reach the values by reference to that Secret.
        var ingress = Single(objects, "Deployment", ServiceRoles.StatsDIngress);
        Assert.Contains($"name: {secret.Name}", ingress.Text, StringComparison.Ordinal);
        Assert.Contains("key: statsd-jwt-secret", ingress.Text, StringComparison.Ordinal);
        var pubsub = objects.Single(o => o.Kind == "Component" && o.Name == "pubsub");
        Assert.Contains("key: kafka-password", pubsub.Text, StringComparison.Ordinal);
        Assert.Equal("kubernetes", pubsub.Scalar("auth.secretStore"));
    }

    [Fact]
    public async Task An_existing_secret_is_referenced_and_no_secret_is_created()
    {
        var objects = await HelmChart.RenderAsync("--set", "secrets.existingSecret=my-telemetry-secrets", "--set", "secrets.values.statsd-jwt-secret=x");
        Assert.DoesNotContain(objects, o => o.Kind == "Secret");
        var ingress = Single(objects, "Deployment", ServiceRoles.StatsDIngress);
        Assert.Contains("name: my-telemetry-secrets", ingress.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_a_service_removes_its_objects_and_leaves_the_others_unchanged()
    {
        var all = await HelmChart.RenderAsync();
        foreach (var (name, _) in ChartServices())
        {
            var without = await HelmChart.RenderAsync("--set", $"services.{name}.enabled=false");
            Assert.DoesNotContain(without, o => o.Component == name);
            Assert.DoesNotContain(without, o => o.Text.Contains($"- {name}\n", StringComparison.Ordinal) && o.Kind == "Component");
            var others = all.Where(o => o.Component is not null && o.Component != name).Select(o => o.Text);
            Assert.Equal(others, without.Where(o => o.Component is not null).Select(o => o.Text));
            Assert.True(all.Count(o => o.Component == name) >= 3, $"{name}: expected a Deployment, Service and PodDisruptionBudget");
        }
    }

    [Fact]
    public async Task Autoscaling_replaces_the_fixed_replica_count_with_an_autoscaler_on_that_deployment()
    {
        var objects = await HelmChart.RenderAsync("--set", "services.statsd-ingress.autoscaling.enabled=true");
        var deployment = Single(objects, "Deployment", ServiceRoles.StatsDIngress);
        Assert.Null(deployment.Node("spec.replicas"));
        var hpa = Single(objects, "HorizontalPodAutoscaler", ServiceRoles.StatsDIngress);
        Assert.Equal(deployment.Name, hpa.Scalar("spec.scaleTargetRef.name"));
        Assert.DoesNotContain(await HelmChart.RenderAsync(), o => o.Kind == "HorizontalPodAutoscaler");
    }

    [Fact]
    public async Task Ingress_routes_each_public_path_to_its_service_with_tls_by_secret_name()
    {
        var objects = await HelmChart.RenderAsync("--set", "ingress.enabled=true", "--set", "ingress.tls.secretName=telemetry-tls");
        var ingress = Assert.Single(objects, o => o.Kind == "Ingress");
        Assert.Equal("telemetry-tls", ingress.Scalar("spec.tls.0.secretName"));
        var paths = ingress.List("spec.rules.0.http.paths").Cast<YamlMappingNode>().Select(p => new K8sObject(p)).ToList();
        Assert.Contains(paths, p => p.Scalar("path") == "/count");
        foreach (var path in paths)
        {
            // The backend is a rendered Service that has the named port.
            var service = objects.Single(o => o.Kind == "Service" && o.Name == path.Scalar("backend.service.name"));
            var ports = service.List("spec.ports").Cast<YamlMappingNode>().Select(p => new K8sObject(p).Scalar("name"));
            Assert.Contains(path.Scalar("backend.service.port.name"), ports);
        }

        // The reverse proxy's public port is its proxy listener, not the app port with /metrics.
        var values = Path.Combine(Path.GetTempPath(), $"cloudproxy-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(values, "ingress:\n  enabled: true\nservices:\n  reverse-proxy:\n    ingressPaths: [/]\n");
        IReadOnlyList<K8sObject> proxyObjects;
        try
        {
            proxyObjects = await HelmChart.RenderAsync("-f", values);
        }
        finally
        {
            File.Delete(values);
        }

        var proxyPath = Assert.Single(
            Assert.Single(proxyObjects, o => o.Kind == "Ingress").List("spec.rules.0.http.paths").Cast<YamlMappingNode>().Select(p => new K8sObject(p)),
            p => p.Scalar("path") == "/");
        Assert.Equal("proxy", proxyPath.Scalar("backend.service.port.name"));
    }

    [Fact]
    public async Task Service_monitors_and_alerts_follow_the_prometheus_operator_setting()
    {
        var on = await HelmChart.RenderAsync();
        Assert.Equal(ChartServices().Count, on.Count(o => o.Kind == "ServiceMonitor"));
        Assert.Single(on, o => o.Kind == "PrometheusRule");
        var off = await HelmChart.RenderAsync("--set", "serviceMonitor.enabled=false", "--set", "prometheusRule.enabled=false");
        Assert.DoesNotContain(off, o => o.Kind is "ServiceMonitor" or "PrometheusRule");
    }

    [Fact]
    public async Task Chart_dapr_yaml_tye_yaml_and_the_binary_name_the_same_services_on_the_same_ports()
    {
        var chart = ChartServices();
        var dapr = LocalRunFilesTests.DaprApps().ToDictionary(kv => kv.Key, kv => kv.Value.Port);
        var tye = LocalRunFilesTests.TyeServices().ToDictionary(kv => kv.Key, kv => kv.Value.Port);
        Assert.Equal(dapr.OrderBy(kv => kv.Key), chart.OrderBy(kv => kv.Key));
        Assert.Equal(tye.OrderBy(kv => kv.Key), chart.OrderBy(kv => kv.Key));
        Assert.Equal(ServiceRoles.Implemented.Order(StringComparer.Ordinal), chart.Keys.Order(StringComparer.Ordinal));

        // The rendered chart carries exactly those ids and ports.
        var deployments = (await HelmChart.RenderAsync()).Where(o => o.Kind == "Deployment")
            .ToDictionary(d => d.Map("spec.template.metadata.annotations")["dapr.io/app-id"],
                d => int.Parse(d.Map("spec.template.metadata.annotations")["dapr.io/app-port"], CultureInfo.InvariantCulture));
        Assert.Equal(chart.OrderBy(kv => kv.Key), deployments.OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task Dapr_resources_are_scoped_to_the_enabled_services_and_the_rate_limit_only_to_the_reverse_proxy()
    {
        var objects = await HelmChart.RenderAsync();
        foreach (var component in objects.Where(o => o.Kind is "Component" or "Resiliency" && o.Name != "ratelimit"))
        {
            var scopes = component.List("scopes").Select(s => ((YamlScalarNode)s).Value).Order(StringComparer.Ordinal);
            Assert.Equal(ChartServices().Keys.Order(StringComparer.Ordinal), scopes);
        }

        var ratelimit = objects.SingleOrDefault(o => o.Kind == "Component" && o.Name == "ratelimit");
        if (ratelimit is not null)
        {
            Assert.Equal("reverse-proxy", Assert.Single(ratelimit.List("scopes")).ToString());
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("kafka")]
    public async Task Chart_renders_the_same_dapr_components_as_the_components_folder(string broker)
    {
        // What `dapr run` loads: components/common plus the broker's folder.
        var local = Directory.GetFiles(Path.Combine(HelmChart.RepoRoot, "components", "common"), "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(HelmChart.RepoRoot, "components", broker), "*.yaml"))
            .SelectMany(f => HelmChart.Parse(File.ReadAllText(f)))
            .Where(o => o.Kind == "Component")
            .ToDictionary(o => o.Name, o => (Type: o.Scalar("spec.type"), Scopes: string.Join(",", o.List("scopes").Select(n => n.ToString()))));
        var chart = (await HelmChart.RenderAsync("--set", $"broker={broker}"))
            .Where(o => o.Kind == "Component")
            .ToDictionary(o => o.Name, o => (Type: o.Scalar("spec.type"), Scopes: string.Join(",", o.List("scopes").Select(n => n.ToString()))));

        Assert.Equal(local.Keys.Order(StringComparer.Ordinal), chart.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, component) in local)
        {
            Assert.Equal(component.Type, chart[name].Type);
        }

        // The rate limit reaches only the reverse proxy, in both.
        Assert.Equal("reverse-proxy", local["ratelimit"].Scopes);
        Assert.Equal("reverse-proxy", chart["ratelimit"].Scopes);
    }

    [Fact]
    public async Task Kafka_mtls_renders_the_client_certificate_and_key_from_the_secret_and_keeps_tls_on()
    {
        var pem = $"-----BEGIN PRIVATE KEY-----{Guid.NewGuid():N}";
        var objects = await HelmChart.RenderAsync(
            "--set", "broker=kafka", "--set", "kafka.authType=mtls", "--set", "kafka.disableTls=false",
            "--set", "kafka.tls.clientCertSecretKey=kafka-client-cert", "--set", "kafka.tls.clientKeySecretKey=kafka-client-key",
            "--set", "kafka.tls.caCertSecretKey=kafka-ca-cert", "--set", $"secrets.values.kafka-client-key={pem}");

        var metadata = KafkaMetadata(objects);
        Assert.Equal("mtls", metadata["authType"].Scalar("value"));
        Assert.Equal("false", metadata["disableTls"].Scalar("value"));
        Assert.Equal("kafka-client-cert", metadata["clientCert"].Scalar("secretKeyRef.key"));
        Assert.Equal("kafka-client-key", metadata["clientKey"].Scalar("secretKeyRef.key"));
        Assert.Equal("kafka-ca-cert", metadata["caCert"].Scalar("secretKeyRef.key"));
        Assert.All(objects.Where(o => o.Kind != "Secret"), o => Assert.DoesNotContain(pem, o.Text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Kafka_oidc_renders_the_token_endpoint_the_client_and_a_reference_to_its_secret()
    {
        var objects = await HelmChart.RenderAsync(
            "--set", "broker=kafka", "--set", "kafka.authType=oidc", "--set", "kafka.oidc.tokenEndpoint=https://idp.example.com/token",
            "--set", "kafka.oidc.clientID=cloudproxy", "--set", "kafka.oidc.clientSecretSecretKey=kafka-oidc-client-secret", "--set", "kafka.oidc.scopes=kafka");

        var metadata = KafkaMetadata(objects);
        Assert.Equal("https://idp.example.com/token", metadata["oidcTokenEndpoint"].Scalar("value"));
        Assert.Equal("cloudproxy", metadata["oidcClientID"].Scalar("value"));
        Assert.Equal("kafka-oidc-client-secret", metadata["oidcClientSecret"].Scalar("secretKeyRef.key"));
        Assert.Equal("kafka", metadata["oidcScopes"].Scalar("value"));
    }

    [Theory]
    [InlineData("mtls", "kafka.disableTls=true", "kafka.authType mtls needs TLS")]
    [InlineData("mtls", "kafka.disableTls=false", "kafka.tls.clientCertSecretKey is required")]
    [InlineData("oidc", "kafka.oidc.clientID=x", "kafka.oidc.tokenEndpoint is required")]
    [InlineData("password", "kafka.saslPasswordSecretKey=kafka-password", "kafka.saslUsername is required")]
    [InlineData("scram", "kafka.disableTls=true", "kafka.authType must be none, password, mtls or oidc")]
    public async Task Kafka_auth_that_daprd_could_not_start_with_is_refused_with_a_reason(string authType, string other, string reason)
    {
        // components-contrib common/component/kafka metadata.go/auth.go: each authType needs its fields, and mTLS
        // with TLS disabled is an error; daprd would exit at start-up. values.schema.json refuses these first
        // (ChartSchemaTests); this is the template's own check, for `helm template --skip-schema-validation`.
        var (code, stderr) = await HelmChart.TryRenderAsync("--set", "broker=kafka", "--set", $"kafka.authType={authType}", "--set", other, "--skip-schema-validation");

        Assert.NotEqual(0, code);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Neither_the_chart_nor_components_put_a_circuit_breaker_on_deliveries_to_the_app()
    {
        // While open, daprd fails each delivery without calling the app, and Redis Streams acknowledges it.
        var chart = Assert.Single(await HelmChart.RenderAsync(), o => o.Kind == "Resiliency");
        var local = HelmChart.Parse(File.ReadAllText(Path.Combine(HelmChart.RepoRoot, "components", "common", "resiliency.yaml"))).Single();
        foreach (var resiliency in new[] { chart, local })
        {
            var inbound = resiliency.Map("spec.targets.components.pubsub.inbound");
            Assert.Equal("deliver", inbound["retry"]);
            Assert.False(inbound.ContainsKey("circuitBreaker"), $"{resiliency}: inbound circuit breaker on the pub/sub");
            Assert.Equal("broker", resiliency.Scalar("spec.targets.components.pubsub.outbound.circuitBreaker"));
        }
    }

    [Fact]
    public async Task The_rate_limit_runs_on_the_app_pipeline_which_sees_invocations_of_the_reverse_proxy()
    {
        // dapr/dapr pkg/runtime/runtime.go builds the app channel's middleware from appHttpPipeline; httpPipeline
        // only wraps the sidecar's own HTTP API.
        var chart = Assert.Single(await HelmChart.RenderAsync(), o => o.Kind == "Configuration" && o.Name.EndsWith("-reverse-proxy", StringComparison.Ordinal));
        var local = HelmChart.Parse(File.ReadAllText(Path.Combine(HelmChart.RepoRoot, "components", "reverse-proxy", "config.yaml"))).Single();
        foreach (var configuration in new[] { chart, local })
        {
            Assert.Null(configuration.Node("spec.httpPipeline"));
            Assert.Equal("ratelimit", configuration.Scalar("spec.appHttpPipeline.handlers.0.name"));
            Assert.Equal("middleware.http.ratelimit", configuration.Scalar("spec.appHttpPipeline.handlers.0.type"));
        }
    }

    private static Dictionary<string, K8sObject> KafkaMetadata(IReadOnlyList<K8sObject> objects) =>
        objects.Single(o => o.Kind == "Component" && o.Scalar("spec.type") == "pubsub.kafka")
            .List("spec.metadata").Cast<YamlMappingNode>().Select(m => new K8sObject(m))
            .ToDictionary(m => m.Scalar("name")!, m => m, StringComparer.Ordinal);

    /// <summary>The enabled services of the chart's default values, with their ports.</summary>
    internal static Dictionary<string, int> ChartServices()
    {
        var values = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(HelmChart.ChartDir, "values.yaml"))))
        {
            values.Load(reader);
        }

        var services = (YamlMappingNode)((YamlMappingNode)values.Documents[0].RootNode).Children[new YamlScalarNode("services")];
        return services.Children
            .Select(kv => (Name: ((YamlScalarNode)kv.Key).Value!, Svc: new K8sObject((YamlMappingNode)kv.Value)))
            .Where(s => s.Svc.Scalar("enabled") == "true")
            .ToDictionary(s => s.Name, s => int.Parse(s.Svc.Scalar("port")!, CultureInfo.InvariantCulture));
    }

    private static K8sObject Single(IReadOnlyList<K8sObject> objects, string kind, string component) =>
        Assert.Single(objects, o => o.Kind == kind && o.Component == component);

    private static Dictionary<string, string> Env(K8sObject deployment) =>
        deployment.List("spec.template.spec.containers.0.env").Cast<YamlMappingNode>().Select(e => new K8sObject(e))
            .Where(e => e.Scalar("value") is not null)
            .ToDictionary(e => e.Scalar("name")!, e => e.Scalar("value")!);
}

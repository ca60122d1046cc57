using System.Diagnostics;
using System.Text.RegularExpressions;

namespace CloudProxy.IntegrationTests.Deploy;

/// <summary>
/// helm/cloudproxy/values.schema.json, checked by two independent validators: helm-render, which validates the
/// coalesced values before rendering exactly as `helm install` 3.17 does (gojsonschema, Helm's code and message),
/// and Debian's python3-jsonschema (Draft 7). Every README example passes both; each wrong value is refused by
/// both, at the same path, before any template runs.
/// </summary>
public sealed class HelmValuesSchemaTests
{
    private const string Python = "/usr/bin/python3";

    private static readonly string SchemaPath = Path.Combine(HelmChart.ChartDir, "values.schema.json");

    [Fact]
    public async Task The_schema_is_draft_07_and_the_chart_s_own_values_pass_both_validators()
    {
        var errors = await PythonErrorsAsync(await HelmChart.CoalescedValuesAsync());
        var (code, stderr) = await HelmChart.TryRenderAsync();

        Assert.Empty(errors);
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task Every_install_command_in_the_chart_readme_passes_the_schema_and_renders()
    {
        var examples = ReadmeExamples();
        Assert.True(examples.Count >= 4, $"found only {examples.Count} helm commands in the chart README");
        foreach (var args in examples)
        {
            var (code, stderr) = await HelmChart.TryRenderAsync(args);
            var errors = await PythonErrorsAsync(await HelmChart.CoalescedValuesAsync(args));

            Assert.True(code == 0, $"{string.Join(' ', args)}: {stderr}");
            Assert.True(errors.Count == 0, $"{string.Join(' ', args)}: {string.Join('\n', errors)}");
        }
    }

    [Theory]
    [InlineData("{broker: kafka, kafka: {authType: password, saslUsername: cp, saslPasswordSecretKey: kafka-password}}")]
    [InlineData("{broker: kafka, kafka: {authType: mtls, disableTls: false, tls: {caCertSecretKey: ca, clientCertSecretKey: c, clientKeySecretKey: k}}}")]
    [InlineData("{broker: kafka, kafka: {authType: oidc, oidc: {tokenEndpoint: \"https://idp.example.com/token\", clientID: cp, clientSecretSecretKey: s, scopes: openid}}}")]
    [InlineData("redis: {streams: {maxLenApprox: 0, concurrency: 10, queueDepth: 10, processingTimeout: 120s, redeliverInterval: 15s}}")]
    [InlineData("{serviceMonitor: {enabled: true}, prometheusRule: {enabled: false}, ingress: {enabled: true, hosts: [a.example.com]}}")]
    public async Task A_complete_choice_passes_both_validators(string values)
    {
        var file = Path.Combine(Path.GetTempPath(), $"cloudproxy-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, values);
        try
        {
            var (code, stderr) = await HelmChart.TryRenderAsync("-f", file);
            var errors = await PythonErrorsAsync(await HelmChart.CoalescedValuesAsync("-f", file));

            Assert.True(code == 0, stderr);
            Assert.True(errors.Count == 0, string.Join('\n', errors));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("broker: rabbitmq", "broker", "broker: broker must be one of the following: \"redis\", \"kafka\"")]
    [InlineData("{broker: kafka, kafka: {brokers: \"\"}}", "kafka.brokers", "kafka.brokers: String length must be greater than or equal to 1")]
    [InlineData("{broker: kafka, kafka: {brokers: kafka}}", "kafka.brokers", "kafka.brokers: Does not match pattern")]
    [InlineData("kafka: {authType: sasl}", "kafka.authType", "kafka.authType: kafka.authType must be one of the following: \"none\", \"password\", \"mtls\", \"oidc\"")]
    [InlineData("kafka: {authType: password}", "kafka.saslUsername", "kafka.saslUsername: String length must be greater than or equal to 1")]
    [InlineData("kafka: {authType: password, saslUsername: cp}", "kafka.saslPasswordSecretKey", "kafka.saslPasswordSecretKey: String length must be greater than or equal to 1")]
    [InlineData("kafka: {authType: mtls, disableTls: false, tls: {clientCertSecretKey: \"\", clientKeySecretKey: client-key}}", "kafka.tls.clientCertSecretKey", "kafka.tls.clientCertSecretKey: String length must be greater than or equal to 1")]
    [InlineData("kafka: {authType: mtls, tls: {clientCertSecretKey: c, clientKeySecretKey: k}}", "kafka.disableTls", "kafka.disableTls: kafka.disableTls does not match: false")]
    [InlineData("kafka: {authType: oidc, oidc: {tokenEndpoint: \"\", clientID: cp, clientSecretSecretKey: s}}", "kafka.oidc.tokenEndpoint", "kafka.oidc.tokenEndpoint: String length must be greater than or equal to 1")]
    [InlineData("kafka: {authType: oidc, oidc: {tokenEndpoint: \"https://idp/token\", clientID: \"\", clientSecretSecretKey: s}}", "kafka.oidc.clientID", "kafka.oidc.clientID: String length must be greater than or equal to 1")]
    [InlineData("kafka: {tls: {clientCert: x}}", "kafka.tls", "kafka.tls: Additional property clientCert is not allowed")]
    [InlineData("redis: {streams: {processingTimeout: 120}}", "redis.streams.processingTimeout", "redis.streams.processingTimeout: Invalid type. Expected: string, given: integer")]
    [InlineData("brokr: kafka", "(root)", "(root): Additional property brokr is not allowed")]
    [InlineData("services: {statsd-ingres: {enabled: false}}", "services", "services: Additional property statsd-ingres is not allowed")]
    [InlineData("services: {statsd-ingress: {replica: 3}}", "services.statsd-ingress", "services.statsd-ingress: Additional property replica is not allowed")]
    [InlineData("services: {statsd-ingress: {port: http}}", "services.statsd-ingress.port", "services.statsd-ingress.port: Invalid type. Expected: integer, given: string")]
    [InlineData("services: {sentry-ingress: {port: 70000}}", "services.sentry-ingress.port", "services.sentry-ingress.port: Must be less than or equal to 65535")]
    [InlineData("services: {statsd-ingress: {enabled: \"no\"}}", "services.statsd-ingress.enabled", "services.statsd-ingress.enabled: Invalid type. Expected: boolean, given: string")]
    [InlineData("services: {graphite-gateway: {extraPorts: {PlainText: 2003}}}", "services.graphite-gateway.extraPorts", "services.graphite-gateway.extraPorts: Property name of \"PlainText\" does not match")]
    [InlineData("services: {reverse-proxy: {autoscaling: {targetCPUUtilizationPercentage: 150}}}", "services.reverse-proxy.autoscaling.targetCPUUtilizationPercentage",
        "services.reverse-proxy.autoscaling.targetCPUUtilizationPercentage: Must be less than or equal to 100")]
    [InlineData("image: {pullPolicy: Sometimes}", "image.pullPolicy", "image.pullPolicy: image.pullPolicy must be one of the following: \"Always\", \"IfNotPresent\", \"Never\"")]
    [InlineData("imagePullSecrets: [registry]", "imagePullSecrets.0", "imagePullSecrets.0: Invalid type. Expected: object, given: string")]
    [InlineData("dapr: {logLevel: verbose}", "dapr.logLevel", "dapr.logLevel: dapr.logLevel must be one of the following: \"debug\", \"info\", \"warn\", \"error\"")]
    [InlineData("dapr: {resiliency: {publishTimeout: 5}}", "dapr.resiliency.publishTimeout", "dapr.resiliency.publishTimeout: Invalid type. Expected: string, given: integer")]
    [InlineData("dapr: {resiliency: {deliverTimeout: 30 seconds}}", "dapr.resiliency.deliverTimeout", "dapr.resiliency.deliverTimeout: Does not match pattern")]
    [InlineData("dapr: {tracing: {samplingRate: \"2\"}}", "dapr.tracing.samplingRate", "dapr.tracing.samplingRate: Does not match pattern")]
    [InlineData("serviceMonitor: {enabled: sometimes}", "serviceMonitor.enabled", "serviceMonitor.enabled: serviceMonitor.enabled must be one of the following: \"auto\", true, false")]
    [InlineData("spool: {sizeLimit: 2GB}", "spool.sizeLimit", "spool.sizeLimit: Does not match pattern")]
    [InlineData("secrets: {existingSecret: My_Secret}", "secrets.existingSecret", "secrets.existingSecret: Does not match pattern")]
    [InlineData("fullnameOverride: CloudProxy", "fullnameOverride", "fullnameOverride: Does not match pattern")]
    [InlineData("otel: {endpoint: \"collector:4317\"}", "otel.endpoint", "otel.endpoint: Does not match pattern")]
    [InlineData("redis: {host: redis}", "redis.host", "redis.host: Does not match pattern")]
    [InlineData("ingress: {enabled: true, hosts: []}", "ingress.hosts", "ingress.hosts: Array must have at least 1 items")]
    [InlineData("settings: {\"Outbox:Capacity\": {nested: 1}}", "settings.Outbox:Capacity", "settings.Outbox:Capacity: Invalid type. Expected: [string,number,boolean], given: object")]
    public async Task A_wrong_value_is_refused_before_rendering_with_a_message_naming_it(string values, string path, string helmMessage)
    {
        var file = Path.Combine(Path.GetTempPath(), $"cloudproxy-values-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, values);
        try
        {
            var (code, stderr) = await HelmChart.TryRenderAsync("-f", file);
            var errors = await PythonErrorsAsync(await HelmChart.CoalescedValuesAsync("-f", file));

            Assert.Equal(1, code);
            Assert.Contains("values don't meet the specifications of the schema(s) in the following chart(s):\ncloudproxy:\n", stderr, StringComparison.Ordinal);
            Assert.Contains("- " + helmMessage, stderr, StringComparison.Ordinal);
            Assert.Contains(errors, e => e.StartsWith(path + "\t", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_schema_names_exactly_the_chart_s_services()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(SchemaPath));
        var inSchema = schema.RootElement.GetProperty("properties").GetProperty("services").GetProperty("properties").EnumerateObject().Select(p => p.Name);
        var values = System.Text.Json.JsonDocument.Parse(await HelmChart.CoalescedValuesAsync());

        Assert.Equal(
            values.RootElement.GetProperty("services").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal),
            inSchema.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The helm commands of the chart README's shell blocks (continuation lines joined), as helm-render arguments
    /// (-f/--values and --set; the rest, like --reuse-values, does not change values). A comment line of --set
    /// options after a command is a variant of that command (e.g. "# SASL: --set kafka.authType=password ...").
    /// </summary>
    private static List<string[]> ReadmeExamples()
    {
        var readme = File.ReadAllText(Path.Combine(HelmChart.ChartDir, "README.md"));
        var examples = new List<string[]>();
        foreach (Match block in Regex.Matches(readme, "```sh\n(.*?)```", RegexOptions.Singleline, TimeSpan.FromSeconds(1)))
        {
            string[]? last = null;
            foreach (var line in block.Groups[1].Value.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n'))
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length > 2 && words.Contains("helm/cloudproxy") && (words[0] == "helm" || words[0].EndsWith("helm-render", StringComparison.Ordinal)))
                {
                    last = ValueArgs(words);
                    examples.Add(last);
                }
                else if (last is not null && line.TrimStart().StartsWith('#') && words.Contains("--set"))
                {
                    examples.Add([.. last, .. ValueArgs(words)]);
                }
            }
        }

        return examples;
    }

    private static string[] ValueArgs(string[] words)
    {
        var args = new List<string>();
        for (var i = 0; i < words.Length - 1; i++)
        {
            if (words[i] is "--set" or "-f" or "--values")
            {
                args.AddRange([words[i], words[++i]]);
            }
        }

        return [.. args];
    }

    /// <summary>python3-jsonschema's Draft 7 errors for <paramref name="valuesJson"/>, as "path\tmessage" (after checking
    /// that the schema itself is a valid Draft 7 schema).</summary>
    private static async Task<List<string>> PythonErrorsAsync(string valuesJson)
    {
        const string script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft7Validator.check_schema(schema)
            for e in jsonschema.Draft7Validator(schema).iter_errors(json.load(sys.stdin)):
                print((".".join(str(p) for p in e.absolute_path) or "(root)") + "\t" + e.message)
            """;
        if (!File.Exists(Python))
        {
            Assert.Fail($"{Python} not found: apt-get install -y python3-jsonschema (./test.sh does)");
        }

        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { "-c", script, SchemaPath },
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(valuesJson);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"python3-jsonschema failed ({process.ExitCode}): {await stderr} (apt-get install -y python3-jsonschema)");
        return [.. (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}

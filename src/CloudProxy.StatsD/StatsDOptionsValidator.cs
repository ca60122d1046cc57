using CloudProxy.Core.Options;using CloudProxy.StatsD.Protocol;using Microsoft.Extensions.Options;

namespace CloudProxy.StatsD;

/// <summary>
/// Checks the settings of the roles this process runs and reports every failure at once, each naming the
/// setting (and the statsd-http-proxy flag, where there is one).
/// </summary>
internal sealed class StatsDOptionsValidator(bool ingress, bool forwarder) : IValidateOptions<StatsDOptions>
{
    private const string S = StatsDOptions.Section;

    public ValidateOptionsResult Validate(string? name, StatsDOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Topic))
        {
            failures.Add($"{S}:Topic must not be empty");
        }

        if (ingress)
        {
            ValidateIngress(options.Ingress, failures);
        }

        if (forwarder)
        {
            ValidateForwarder(options.Forwarder, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateIngress(StatsDIngressOptions o, List<string> failures)
    {
        if (!string.IsNullOrEmpty(o.MetricPrefix))
        {
            var problem = StatsDNames.ValidateKey(o.MetricPrefix);
            if (problem is not null)
            {
                failures.Add($"{SettingCatalog.Name<StatsDIngressOptions>(S + ":Ingress", nameof(StatsDIngressOptions.MetricPrefix))}: {problem}");
            }
            else if (o.MetricPrefix.Length > StatsDNames.MaxKeyBytes / 2)
            {
                failures.Add($"{SettingCatalog.Name<StatsDIngressOptions>(S + ":Ingress", nameof(StatsDIngressOptions.MetricPrefix))}: longer than {StatsDNames.MaxKeyBytes / 2} characters");
            }
        }

        if (!Enum.IsDefined(o.InvalidKeys))
        {
            failures.Add($"{S}:Ingress:InvalidKeys must be Reject or Sanitize");
        }

        if (o.MaxBatchMetrics < 1)
        {
            failures.Add($"{S}:Ingress:MaxBatchMetrics must be at least 1 (got {o.MaxBatchMetrics})");
        }

        if (o.MaxBodyBytes is < 64 or > int.MaxValue)
        {
            failures.Add($"{S}:Ingress:MaxBodyBytes must be between 64 and {int.MaxValue} (got {o.MaxBodyBytes})");
        }

        if (o.ClientRequestsPerSecond < 0 || o.ClientBurst < 0 || o.TokenRequestsPerSecond < 0 || o.TokenBurst < 0
            || !double.IsFinite(o.ClientRequestsPerSecond + o.ClientBurst + o.TokenRequestsPerSecond + o.TokenBurst))
        {
            failures.Add($"{S}:Ingress:ClientRequestsPerSecond, ClientBurst, TokenRequestsPerSecond and TokenBurst must be 0 (off / default) or a finite positive number");
        }

        if ((o.ClientBurst > 0 && o.ClientRequestsPerSecond == 0) || (o.TokenBurst > 0 && o.TokenRequestsPerSecond == 0))
        {
            failures.Add($"{S}:Ingress:ClientBurst / TokenBurst need ClientRequestsPerSecond / TokenRequestsPerSecond (a burst without a rate limits nothing)");
        }

        if ((o.TokenRequestsPerSecond > 0 || o.MaxNamesPerToken > 0) && string.IsNullOrEmpty(o.JwtSecret))
        {
            failures.Add($"{S}:Ingress:TokenRequestsPerSecond / MaxNamesPerToken need {SettingCatalog.Name<StatsDIngressOptions>(S + ":Ingress", nameof(StatsDIngressOptions.JwtSecret))}: without it there is no token to count by");
        }

        if (o.MaxNamesPerPrefix < 0 || o.MaxPrefixes < 0 || o.MaxNamesPerToken < 0)
        {
            failures.Add($"{S}:Ingress:MaxNamesPerPrefix, MaxPrefixes and MaxNamesPerToken must be 0 (off) or more");
        }

        if (o.CardinalityWindowSeconds is < 1 or > 7 * 24 * 3600 || !double.IsFinite(o.CardinalityWindowSeconds))
        {
            failures.Add($"{S}:Ingress:CardinalityWindowSeconds must be between 1 and 604800 (got {o.CardinalityWindowSeconds})");
        }

        foreach (var origin in o.AllowedOrigins.Where(origin => origin != "*"))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || origin.EndsWith('/'))
            {
                failures.Add($"{S}:Ingress:AllowedOrigins: '{origin}' is not an origin like https://app.example.com");
            }
        }
    }

    private static void ValidateForwarder(StatsDForwarderOptions o, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            failures.Add($"{SettingCatalog.Name<StatsDForwarderOptions>(S + ":Forwarder", nameof(StatsDForwarderOptions.Host))} must not be empty");
        }

        if (o.Port is < 1 or > 65535)
        {
            failures.Add($"{SettingCatalog.Name<StatsDForwarderOptions>(S + ":Forwarder", nameof(StatsDForwarderOptions.Port))} must be between 1 and 65535 (got {o.Port})");
        }

        if (!Enum.IsDefined(o.Protocol))
        {
            failures.Add($"{S}:Forwarder:Protocol must be Udp or Tcp");
        }

        if (o.MaxDatagramBytes is < 64 or > StatsDForwarderOptions.MaxUdpPayload)
        {
            failures.Add($"{S}:Forwarder:MaxDatagramBytes must be between 64 and {StatsDForwarderOptions.MaxUdpPayload} (got {o.MaxDatagramBytes})");
        }

        if (o.UdpConfirmMilliseconds is < 1 or > 60_000)
        {
            failures.Add($"{S}:Forwarder:UdpConfirmMilliseconds must be between 1 and 60000 (got {o.UdpConfirmMilliseconds})");
        }

        if (o.UdpWindowBytes < 64 * 1024)
        {
            failures.Add($"{S}:Forwarder:UdpWindowBytes must be at least 65536 (got {o.UdpWindowBytes})");
        }

        if (o.ProbeIntervalSeconds is < 0.01 or > 3600)
        {
            failures.Add($"{S}:Forwarder:ProbeIntervalSeconds must be between 0.01 and 3600 (got {o.ProbeIntervalSeconds})");
        }
    }
}

using CloudProxy.Core.Options;using CloudProxy.Sentry.Forwarder;using CloudProxy.Sentry.Protocol;using Microsoft.Extensions.Options;

namespace CloudProxy.Sentry;

/// <summary>
/// Checks the settings of the roles this process runs and reports every failure at once, each naming the
/// setting (and ogre's flag, where there is one).
/// </summary>
internal sealed class SentryOptionsValidator(bool ingress, bool forwarder) : IValidateOptions<SentryOptions>
{
    private const string S = SentryOptions.Section;

    public ValidateOptionsResult Validate(string? name, SentryOptions options)
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

        // The ingress reads the upstreams too (pass-through goes to the first), so a bad one is always an error.
        SentryUpstream.Resolve(options.Forwarder, failures);
        if (forwarder)
        {
            ValidateForwarder(options.Forwarder, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateIngress(SentryIngressOptions o, List<string> failures)
    {
        foreach (var key in o.AllowedKeys.Where(k => !SentryAuthReader.IsValidKey(k)))
        {
            failures.Add($"{S}:Ingress:AllowedKeys: '{key}' is not a public key (32 hex digits)");
        }

        foreach (var project in o.AllowedProjects.Where(p => p.Length == 0 || !p.All(char.IsAsciiDigit)))
        {
            failures.Add($"{S}:Ingress:AllowedProjects: '{project}' is not a numeric project id");
        }

        Range(failures, "Ingress:MaxEventBytes", o.MaxEventBytes, 1024, int.MaxValue);
        Range(failures, "Ingress:MaxEnvelopeBytes", o.MaxEnvelopeBytes, 1024, int.MaxValue);
        Range(failures, "Ingress:MaxAttachmentBytes", o.MaxAttachmentBytes, 1024, int.MaxValue);
        if (o.KeyRequestsPerSecond < 0 || o.ProjectRequestsPerSecond < 0)
        {
            failures.Add($"{S}:Ingress:KeyRequestsPerSecond and ProjectRequestsPerSecond must be 0 (off) or more");
        }

        if (o.DropThreshold is not null && !SentryDuration.TryParse(o.DropThreshold, out _))
        {
            failures.Add($"{SettingCatalog.Name<SentryIngressOptions>(S + ":Ingress", nameof(SentryIngressOptions.DropThreshold))}: '{o.DropThreshold}' is not a duration like 20ms");
        }

        if (o.RateLimitPollSeconds is < 0.1 or > 60)
        {
            failures.Add($"{S}:Ingress:RateLimitPollSeconds must be between 0.1 and 60 (got {o.RateLimitPollSeconds})");
        }
    }

    // No upstream at all is allowed, so that `--services all` starts with nothing configured: the ingress then
    // refuses events with 503 naming the setting (SentryIngressHandler), rather than accept what has nowhere to go.
    private static void ValidateForwarder(SentryForwarderOptions o, List<string> failures)
    {
        if (!SentryDuration.TryParse(o.RequestTimeout, out var timeout) || timeout <= TimeSpan.Zero || timeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{SettingCatalog.Name<SentryForwarderOptions>(S + ":Forwarder", nameof(SentryForwarderOptions.RequestTimeout))}: '{o.RequestTimeout}' must be a duration in (0, 10m], like 100ms or 10s");
        }

        Range(failures, "Forwarder:MaxRetries", o.MaxRetries, 0, 10);
        Range(failures, "Forwarder:MinConcurrency", o.MinConcurrency, 1, 10_000);
        Range(failures, "Forwarder:MaxConcurrency", o.MaxConcurrency, 1, 10_000);
        if (o.InitialConcurrency < o.MinConcurrency || o.InitialConcurrency > o.MaxConcurrency)
        {
            failures.Add($"{SettingCatalog.Name<SentryForwarderOptions>(S + ":Forwarder", nameof(SentryForwarderOptions.InitialConcurrency))} must be between MinConcurrency ({o.MinConcurrency}) and MaxConcurrency ({o.MaxConcurrency}) (got {o.InitialConcurrency})");
        }

        if (o.LatencyRiseFactor is < 1.1 or > 100)
        {
            failures.Add($"{S}:Forwarder:LatencyRiseFactor must be between 1.1 and 100 (got {o.LatencyRiseFactor})");
        }
    }

    private static void Range(List<string> failures, string setting, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{S}:{setting} must be between {min} and {max} (got {value})");
        }
    }
}

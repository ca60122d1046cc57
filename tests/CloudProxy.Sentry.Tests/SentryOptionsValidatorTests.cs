namespace CloudProxy.Sentry.Tests;

public sealed class SentryOptionsValidatorTests
{
    [Fact]
    public void Bad_settings_are_all_reported_by_name()
    {
        var options = new SentryOptions
        {
            Forwarder = new SentryForwarderOptions { RequestTimeout = "soon", InitialConcurrency = 100, MaxConcurrency = 10 },
            Ingress = new SentryIngressOptions { MaxEventBytes = 1, DropThreshold = "x" },
        };
        options.Ingress.AllowedKeys.Add("short");

        var result = new SentryOptionsValidator(ingress: true, forwarder: true).Validate(null, options);

        Assert.True(result.Failed);
        var all = string.Join("\n", result.Failures!);
        Assert.Contains("Forwarder:RequestTimeout (--pusher.client.request_timeout)", all, StringComparison.Ordinal);
        Assert.Contains("Forwarder:InitialConcurrency (--pusher.pool.unstoppable_workers)", all, StringComparison.Ordinal);
        Assert.Contains("Ingress:MaxEventBytes", all, StringComparison.Ordinal);
        Assert.Contains("Ingress:AllowedKeys: 'short'", all, StringComparison.Ordinal);
        Assert.Contains("Ingress:DropThreshold (--pusher.drop_threshold)", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_with_one_upstream_are_valid()
    {
        var options = new SentryOptions { Forwarder = new SentryForwarderOptions { Hosts = "http://127.0.0.1:9000" } };

        Assert.True(new SentryOptionsValidator(ingress: true, forwarder: true).Validate(null, options).Succeeded);
    }
}

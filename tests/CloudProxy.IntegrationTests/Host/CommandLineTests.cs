using CloudProxy.Host;

namespace CloudProxy.IntegrationTests.Host;

public class CommandLineTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        // A case that wrongly starts would run until shut down: fail it instead of hanging the suite.
        var code = await CloudProxyApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(60));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Help_lists_every_option_with_its_configuration_key()
    {
        var (code, output, _) = await RunAsync("--help");
        Assert.Equal(0, code);
        foreach (var flag in CommandLine.Flags)
        {
            Assert.Contains(flag.Name, output, StringComparison.Ordinal);
            Assert.Contains(flag.Key, output, StringComparison.Ordinal);
        }

        Assert.Contains("--version", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_version_and_commit()
    {
        var (code, output, _) = await RunAsync("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("cloudproxy 0.1.0 (commit ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--transport", "kafka", "--transport")]
    [InlineData("--services", "statsd-ingress,bogus", "--services")]
    [InlineData("--http-port", "70000", "--http-port")]
    [InlineData("--spool-max-bytes", "lots", "--spool-max-bytes")]
    [InlineData("--spool-max-bytes", "1000", "CloudProxy:Spool:MaxBytes")]
    [InlineData("--durability", "sometimes", "--durability")]
    [InlineData("--pusher.queue_size", "0", "CloudProxy:Outbox:Capacity")]
    [InlineData("--tls-cert", "/nonexistent.pem", "--tls-cert")]
    public async Task A_bad_option_stops_start_up_with_a_message_naming_it(string flag, string value, string named)
    {
        var spool = Path.Combine(Directory.CreateTempSubdirectory().FullName, "spool");
        var (code, _, error) = await RunAsync("--spool-path", spool, "--http-port", "0", flag, value);
        Assert.Equal(2, code);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    // Issue 12.7: the message names the option and echoes the value, but not the credentials in it.
    [Theory]
    [InlineData("--services", "sentry-ingress,sentry-forwarder", "--pusher.sentry.host", "ftp://admin:hunter2@sentry.example.com")]
    [InlineData("--services", "sentry-ingress,sentry-forwarder", "--CloudProxy:Sentry:Forwarder:Upstreams:0:Url", "sentry://deadbeef:hunter2@sentry.example.com")]
    [InlineData("--services", "reverse-proxy", "-proxy-url", "ftp://admin:hunter2@backend.example.com")]
    public async Task A_start_up_error_that_echoes_a_URL_hides_its_credentials(params string[] args)
    {
        var spool = Path.Combine(Directory.CreateTempSubdirectory().FullName, "s.db");
        var (code, output, error) = await RunAsync(["--spool-path", spool, "--http-port", "0", "-listen-address", "127.0.0.1:0", .. args]);
        Assert.Equal(2, code);
        Assert.Contains("***@", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error + output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://user:pa55@sentry.example.com/x and redis://:s3cret@r:6379", "https://***@sentry.example.com/x and redis://***@r:6379")]
    [InlineData("redis:6379,password=s3cret,ssl=true", "redis:6379,password=***,ssl=true")]
    [InlineData("'http://token@host' is not valid", "'http://***@host' is not valid")]
    [InlineData("http://host:8080/path?q=a@b", "http://host:8080/path?q=a@b")]
    public void Credentials_are_redacted_wherever_a_message_holds_them(string text, string redacted)
    {
        Assert.Equal(redacted, CloudProxy.Core.Options.SecretRedaction.Redact(text));
    }

    [Fact]
    public async Task Ingress_without_its_forwarder_needs_the_dapr_transport()
    {
        var (code, _, error) = await RunAsync("--services", "statsd-ingress");
        Assert.Equal(2, code);
        Assert.Contains("--transport dapr", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Legacy_switches_without_a_value_become_true_and_do_not_swallow_the_next_flag()
    {
        var normalized = CommandLine.Normalize(["--verbose", "--statsd-port", "9125"], out var map);
        Assert.Equal(["--verbose=true", "--statsd-port", "9125"], normalized);
        Assert.Equal("CloudProxy:StatsD:Forwarder:Port", map["--statsd-port"]);
    }
}

using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Core.Hosting.HttpOptions.Section, typeof(CloudProxy.Core.Hosting.HttpOptions))]

namespace CloudProxy.Core.Hosting;

/// <summary>Section <c>CloudProxy:Http</c>: where the one Kestrel endpoint listens.</summary>
public sealed class HttpOptions
{
    public const string Section = "CloudProxy:Http";

    [Setting("Address to listen on (default 127.0.0.1; 0.0.0.0 in containers)")]
    [Flag("--http-host", Origin = "statsd-http-proxy")]
    [Flag("-listen-addr", Origin = "polymur-gateway", Help = "gateway listen address")]
    public string Host { get; set; } = "127.0.0.1";

    [Setting("HTTP(S) port (default 8080)")]
    [Flag("--http-port", Origin = "statsd-http-proxy")]
    [Flag("--httpproxy.port", Origin = "ogre", Help = "HTTP port (ogre wrote \":80\"; a leading colon is accepted)")]
    [Flag("-listen-http-port", Origin = "polymur-gateway", Help = "gateway HTTP port")]
    [Flag("-listen-https-port", Origin = "polymur-gateway", Help = "gateway HTTPS port (with -cert and -key; one listener)")]
    public int Port { get; set; } = 8080;

    [Setting("PEM certificate file: serve HTTPS (needs --tls-key)")]
    [Flag("--tls-cert", Origin = "statsd-http-proxy")]
    [Flag("-cert", Origin = "polymur-gateway", Help = "PEM TLS certificate")]
    public string? TlsCert { get; set; }

    [Setting("PEM private key file for --tls-cert")]
    [Flag("--tls-key", Origin = "statsd-http-proxy")]
    [Flag("-key", Origin = "polymur-gateway", Help = "PEM TLS key")]
    public string? TlsKey { get; set; }
}

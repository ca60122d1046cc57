namespace CloudProxy.Host;

/// <summary>Section <c>CloudProxy:Http</c>: where the one Kestrel endpoint listens.</summary>
internal sealed class HttpOptions
{
    public const string Section = "CloudProxy:Http";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 8080;

    public string? TlsCert { get; set; }

    public string? TlsKey { get; set; }
}

using System.Net.Http.Headers;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.Sentry;

/// <summary>
/// The real host with two upstream Sentry sinks mapped to different keys and project ids: the SDK's key
/// <see cref="Key"/> in project 42 becomes <see cref="KeyA"/>/101 on upstream "a" and <see cref="KeyB"/>/202 on "b".
/// </summary>
public sealed class SentryRig : IAsyncDisposable
{
    public const string Key = "0123456789abcdef0123456789abcdef";
    public const string KeyA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    public const string KeyB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    public const string Project = "42";
    public const string ProjectA = "101";
    public const string ProjectB = "202";

    private SentryRig(SentryUpstreamSink a, SentryUpstreamSink b, RunningHost host)
    {
        A = a;
        B = b;
        Host = host;
    }

    public SentryUpstreamSink A { get; }

    public SentryUpstreamSink B { get; }

    public RunningHost Host { get; }

    public HttpClient Client => Host.Client;

    /// <summary>The DSN an SDK uses to send through the proxy.</summary>
    public string Dsn => $"http://{Key}@127.0.0.1:{Host.BaseAddress.Port}/{Project}";

    public static async Task<SentryRig> StartAsync(params string[] args)
    {
        var a = await SentryUpstreamSink.StartAsync();
        var b = await SentryUpstreamSink.StartAsync();
        const string u = "--CloudProxy:Sentry:Forwarder:Upstreams";
        var host = await RunningHost.StartAsync(
        [
            "--services", "sentry-ingress,sentry-forwarder",
            $"{u}:0:Name=a", $"{u}:0:Url={a.Url}", $"{u}:0:Keys:{Key}={KeyA}", $"{u}:0:Projects:{Project}={ProjectA}",
            $"{u}:1:Name=b", $"{u}:1:Url={b.Url}", $"{u}:1:Keys:{Key}={KeyB}", $"{u}:1:Projects:{Project}={ProjectB}",
            "--CloudProxy:Outbox:MaxBackoffSeconds=0.5",
            .. args,
        ]);
        return new SentryRig(a, b, host);
    }

    /// <summary>A minimal valid envelope: header with event_id (and dsn when given), one event item.</summary>
    public static string Envelope(string eventId, string? dsn = null, string message = "boom")
    {
        var header = dsn is null ? $"{{\"event_id\":\"{eventId}\"}}" : $"{{\"event_id\":\"{eventId}\",\"dsn\":\"{dsn}\"}}";
        var item = $"{{\"event_id\":\"{eventId}\",\"message\":\"{message}\",\"level\":\"error\"}}";
        return $"{header}\n{{\"type\":\"event\",\"length\":{Encoding.UTF8.GetByteCount(item)}}}\n{item}\n";
    }

    public static string NewEventId() => Guid.NewGuid().ToString("N");

    public static string XSentryAuth(string key = Key) => $"Sentry sentry_version=7, sentry_client=test/1.0, sentry_key={key}";

    /// <summary>POSTs an envelope with X-Sentry-Auth (unless <paramref name="auth"/> says otherwise).</summary>
    public Task<HttpResponseMessage> PostEnvelopeAsync(string body, string? auth = "x-sentry-auth", string project = Project, string? contentEncoding = null, byte[]? raw = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/{project}/envelope/", UriKind.Relative))
        {
            Content = new ByteArrayContent(raw ?? Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-sentry-envelope");
        if (contentEncoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(contentEncoding);
        }

        if (auth == "x-sentry-auth")
        {
            request.Headers.TryAddWithoutValidation("X-Sentry-Auth", XSentryAuth());
        }

        return Client.SendAsync(request);
    }

    public Task<double> MetricAsync(string name, params (string Label, string Value)[] labels) => Host.MetricAsync(name, labels);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}

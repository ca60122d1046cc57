using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>
/// The real cloudproxy host (embedded transport) on 127.0.0.1 with a real UDP listener as its StatsD.
/// Tests of one class run one after another, so each waits for its own lines; "nothing was sent" is shown
/// by sending a marker metric after the refused request and checking that only the marker arrived.
/// </summary>
public abstract class StatsDHostFixture : IAsyncLifetime
{
    private int _marker;

    public UdpSink Udp { get; } = new();

    public RunningHost Host { get; private set; } = null!;

    public HttpClient Client => Host.Client;

    protected abstract string[] Arguments { get; }

    public async Task InitializeAsync()
    {
        Host = await RunningHost.StartAsync(["--statsd-port", Udp.Port.ToString(CultureInfo.InvariantCulture), .. Arguments]);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Udp.Dispose();
    }

    public Task<HttpResponseMessage> PostAsync(string path, HttpContent? content = null, string? token = null, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Add("X-JWT-Token", token);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return Client.SendAsync(request);
    }

    public static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Text(string text, string mediaType = "text/plain")
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    /// <summary>Waits until <paramref name="count"/> lines starting with <paramref name="prefix"/> arrived, and returns them.</summary>
    public async Task<List<string>> LinesAsync(string prefix, int count)
    {
        await Eventually.TrueAsync(() => Udp.Lines.Count(l => l.StartsWith(prefix, StringComparison.Ordinal)) >= count);
        return [.. Udp.Lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];
    }

    /// <summary>Sends a marker through the same path and, once it arrived, returns every line for <paramref name="prefix"/>.</summary>
    public async Task<List<string>> LinesAfterMarkerAsync(string prefix, string? token = null)
    {
        var marker = "marker." + Interlocked.Increment(ref _marker).ToString(CultureInfo.InvariantCulture);
        var response = await PostAsync($"/count/{marker}", token: token);
        response.EnsureSuccessStatusCode();
        Assert.True(await Eventually.TrueAsync(() => Udp.Lines.Any(l => l.Contains(marker + ":", StringComparison.Ordinal))), "marker never arrived");
        return [.. Udp.Lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];
    }
}

public sealed class DefaultStatsDHost : StatsDHostFixture
{
    protected override string[] Arguments => ["--metric-prefix", "app", "--CloudProxy:StatsD:Ingress:DogStatsDTags=true"];
}

public sealed class JwtStatsDHost : StatsDHostFixture
{
    public const string Secret = "somesecret";

    protected override string[] Arguments => ["--jwt-secret", Secret];
}

public sealed class StrictStatsDHost : StatsDHostFixture
{
    protected override string[] Arguments =>
    [
        "--CloudProxy:StatsD:Ingress:InvalidKeys=Sanitize",
        "--CloudProxy:StatsD:Ingress:MaxBatchMetrics=40",
        "--CloudProxy:StatsD:Ingress:MaxBodyBytes=2048",
        "--CloudProxy:StatsD:Forwarder:MaxDatagramBytes=64",
    ];
}

using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CloudProxy.Graphite.Ingress;
using CloudProxy.Graphite.Keys;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.IntegrationTests.Graphite;

/// <summary>Starting a gateway + forwarder host, its admin API, and requests shaped like polymur-proxy's.</summary>
internal static class GraphiteTestHost
{
    public const string AdminToken = "test-admin-token";

    public static Task<RunningHost> StartAsync(string destinations, params string[] more) => RunningHost.StartAsync(
    [
        "--services", "graphite-gateway,graphite-forwarder",
        "-destinations", destinations,
        $"--CloudProxy:Graphite:Gateway:AdminToken={AdminToken}",
        "--CloudProxy:Graphite:Forwarder:MaxBackoffSeconds=0.5",
        .. more,
    ]);

    public static HttpClient Admin(RunningHost host, string? token = AdminToken)
    {
        var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = host.Services.GetRequiredService<GraphiteAdminServer>().Address };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public static int PlaintextPort(RunningHost host) => host.Services.GetRequiredService<GraphitePlaintextListener>().Port;

    public static async Task<string> CreateKeyAsync(RunningHost host, string name, bool? prefix = null)
    {
        using var admin = Admin(host);
        var response = await admin.PostAsync(new Uri($"/keys/{name}{(prefix is null ? "" : $"?prefix={prefix}")}", UriKind.Relative), null);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("key").GetString()!;
    }

    /// <summary>What polymur-proxy sends: POST, header X-polymur-key, one gzip stream, no Content-Encoding, no Content-Type.</summary>
    public static HttpRequestMessage PolymurRequest(string path, string key, string? lines)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("X-polymur-key", key);
        if (lines is not null)
        {
            request.Content = new ByteArrayContent(Gzip(Encoding.UTF8.GetBytes(lines)));
        }

        return request;
    }

    public static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, level, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }

    public static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
}

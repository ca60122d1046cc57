using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.StatsD;

/// <summary>Browsers speak HTTP/2 over TLS, where a body need not come with a Content-Length.</summary>
public sealed class StatsDHttpsTests
{
    [Fact]
    public async Task Form_posted_over_HTTP2_with_TLS_is_read_and_sent()
    {
        var directory = Directory.CreateTempSubdirectory("cloudproxy-tls-").FullName;
        try
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1));
            var certPath = Path.Combine(directory, "cert.pem");
            var keyPath = Path.Combine(directory, "key.pem");
            await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, rsa.ExportPkcs8PrivateKeyPem());

            using var udp = new UdpSink();
            await using var host = await RunningHost.StartAsync(
            [
                "--urls", "https://127.0.0.1:0",
                "--Kestrel:Certificates:Default:Path=" + certPath,
                "--Kestrel:Certificates:Default:KeyPath=" + keyPath,
                "--statsd-port", udp.Port.ToString(CultureInfo.InvariantCulture),
            ]);
            Assert.Equal("https", host.BaseAddress.Scheme);

            using var handler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString() },
            };
            using var client = new HttpClient(handler) { BaseAddress = host.BaseAddress };
            using var message = new HttpRequestMessage(HttpMethod.Post, "/timing/h2.load")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new UnknownLengthForm("time=42"),
            };
            var response = await client.SendAsync(message);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(await udp.WaitForLinesAsync(1));
            Assert.Equal(["h2.load:42|ms"], udp.Lines);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A form body whose length is not known up front: no Content-Length, only HTTP/2 data frames.</summary>
    private sealed class UnknownLengthForm : HttpContent
    {
        private readonly byte[] _body;

        public UnknownLengthForm(string body)
        {
            _body = System.Text.Encoding.ASCII.GetBytes(body);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

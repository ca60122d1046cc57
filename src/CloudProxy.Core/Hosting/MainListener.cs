using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace CloudProxy.Core.Hosting;

/// <summary>
/// The one main Kestrel endpoint, from <c>CloudProxy:Http</c> (<c>--http-host</c>, <c>--http-port</c>, TLS from
/// <c>--tls-cert</c>/<c>--tls-key</c> PEM files), unless <c>--urls</c>/<c>ASPNETCORE_URLS</c> choose it. A bad value is a
/// <see cref="StartupException"/> naming its flag.
/// </summary>
public static class MainListener
{
    /// <summary>Configures Kestrel's main endpoint on <paramref name="builder"/>.</summary>
    public static void Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        if (!string.IsNullOrEmpty(configuration["urls"]) || !string.IsNullOrEmpty(configuration["ASPNETCORE_URLS"]))
        {
            return;
        }

        var http = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
        if (http.Port is < 0 or > 65535)
        {
            throw new StartupException($"--http-port (CloudProxy:Http:Port): {http.Port} is not a port number");
        }

        if (!System.Net.IPAddress.TryParse(http.Host, out var address) && http.Host != "localhost")
        {
            throw new StartupException($"--http-host (CloudProxy:Http:Host): '{http.Host}' is not an IP address");
        }

        X509Certificate2? certificate = null;
        if (!string.IsNullOrEmpty(http.TlsCert) || !string.IsNullOrEmpty(http.TlsKey))
        {
            // Kestrel serves with it for the life of the process.
#pragma warning disable CA2000
            certificate = LoadCertificate(http);
#pragma warning restore CA2000
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            }

            if (address is null)
            {
                kestrel.ListenLocalhost(http.Port, Listen);
            }
            else
            {
                kestrel.Listen(address, http.Port, Listen);
            }
        });
    }

    private static X509Certificate2 LoadCertificate(HttpOptions http)
    {
        if (string.IsNullOrEmpty(http.TlsCert) || string.IsNullOrEmpty(http.TlsKey))
        {
            throw new StartupException("--tls-cert and --tls-key (CloudProxy:Http:TlsCert/TlsKey) must be given together");
        }

        foreach (var (flag, path) in new[] { ("--tls-cert", http.TlsCert), ("--tls-key", http.TlsKey) })
        {
            if (!File.Exists(path))
            {
                throw new StartupException($"{flag}: file '{path}' does not exist");
            }
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(http.TlsCert, http.TlsKey);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new StartupException($"--tls-cert/--tls-key: cannot load the PEM pair: {ex.Message}", ex);
        }
    }
}

using System.Text;
using CloudProxy.IntegrationTests.Sentry;
using CloudProxy.ReverseProxy.Hosting;
using CloudProxy.Tests.Common;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>
/// One host set-up of a corpus file and the real listener behind it: a UDP socket for StatsD, an HTTP upstream
/// for Sentry, a TCP line listener for carbon, an echoing back end for the reverse proxy. What reached the
/// listener is kept as a list of strings (lines, or method + path + body), so a case can check that nothing
/// but its canary arrived.
/// </summary>
internal sealed class HostileRig : IAsyncDisposable
{
    private readonly UdpSink? _udp;
    private readonly SentryUpstreamSink? _upstream;
    private readonly TcpLineSink? _carbon;
    private readonly HostileBackend? _backend;
    private readonly RunningHost? _inProcess;
    private readonly HostProcess? _process;

    private HostileRig(string service, HostileHostProfile profile, Dictionary<string, string> values, UdpSink? udp, SentryUpstreamSink? upstream,
        TcpLineSink? carbon, HostileBackend? backend, RunningHost? inProcess, HostProcess? process, Uri target)
    {
        Service = service;
        Profile = profile;
        Values = values;
        _udp = udp;
        _upstream = upstream;
        _carbon = carbon;
        _backend = backend;
        _inProcess = inProcess;
        _process = process;
        Target = target;
        Client = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            ActivityHeadersPropagator = null,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        })
        {
            BaseAddress = target,
            Timeout = TimeSpan.FromSeconds(120),
        };
    }

    public string Service { get; }

    public HostileHostProfile Profile { get; }

    /// <summary>The rig's own template values: <c>{upstream}</c>, <c>{udpPort}</c>, <c>{carbonPort}</c>, <c>{backend}</c>, <c>{key}</c>.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>Where the cases' requests go: the main listener, or the reverse proxy's own.</summary>
    public Uri Target { get; }

    public HttpClient Client { get; }

    public HostProcess? Process => _process;

    public HostileBackend? Backend => _backend;

    public static async Task<HostileRig> StartAsync(string service, HostileHostProfile profile)
    {
        UdpSink? udp = null;
        SentryUpstreamSink? upstream = null;
        TcpLineSink? carbon = null;
        HostileBackend? backend = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["key"] = "123" };
        switch (service)
        {
            case "statsd":
                udp = new UdpSink();
                values["udpPort"] = udp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case "sentry":
                upstream = await SentryUpstreamSink.StartAsync();
                values["upstream"] = upstream.Url;
                break;
            case "graphite":
                carbon = new TcpLineSink();
                values["carbonPort"] = carbon.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case "reverse-proxy":
                backend = await HostileBackend.StartAsync();
                values["backend"] = backend.Address.ToString();
                break;
            default:
                throw new InvalidDataException($"unknown service {service}");
        }

        var args = profile.Args.Select(a => HostileBodies.Expand(a, values, 0)).ToArray();
        if (profile.Process)
        {
            var options = new HostProcessOptions();
            var directory = Directory.CreateTempSubdirectory("cloudproxy-hostile-").FullName;
            options.WorkingDirectory = directory;
            string[] defaults =
            [
                "--Logging:LogLevel:Default=Warning",
                "--CloudProxy:Graphite:Gateway:PlaintextAddress=127.0.0.1:0",
                "--CloudProxy:Graphite:Gateway:AdminAddress=127.0.0.1:0",
                $"--CloudProxy:State:Path={Path.Combine(directory, "state.db")}",
                $"--CloudProxy:Graphite:Forwarder:SpoolDirectory={Path.Combine(directory, "graphite-spool")}",
            ];
            foreach (var arg in defaults.Concat(args))
            {
                options.Args.Add(arg);
            }

            foreach (var (name, value) in profile.Env)
            {
                options.Environment[name] = value;
            }

            var process = await HostProcess.StartAsync(options);
            return new HostileRig(service, profile, values, udp, upstream, carbon, backend, null, process, process.BaseAddress);
        }

        var host = await RunningHost.StartAsync(args);
        var target = host.BaseAddress;
        if (service == "reverse-proxy")
        {
            target = host.Services.GetRequiredService<ReverseProxyServer>().Address
                ?? throw new InvalidOperationException("the reverse proxy did not start its listener");
        }

        return new HostileRig(service, profile, values, udp, upstream, carbon, backend, host, null, target);
    }

    /// <summary>Everything that reached the listener so far, oldest first.</summary>
    public IReadOnlyList<string> Reached() => Service switch
    {
        "statsd" => _udp!.Lines,
        "sentry" => [.. _upstream!.Received.Select(r => $"{r.Method} {r.Path}{r.Query}\n{r.BodyText}")],
        "graphite" => [.. _carbon!.Lines],
        _ => [.. _backend!.Requests.Select(r => $"{r.Target}")],
    };

    public async Task<double> MetricAsync(string name, IReadOnlyDictionary<string, string> labels)
    {
        var pairs = labels.Select(l => (l.Key, l.Value)).ToArray();
        return _process is not null ? await _process.MetricAsync(name, pairs) : await _inProcess!.MetricAsync(name, pairs);
    }

    public async Task<bool> IsHealthyAsync()
    {
        if (_process is not null)
        {
            return await _process.IsHealthyAsync();
        }

        using var response = await _inProcess!.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        return response.IsSuccessStatusCode;
    }

    /// <summary>The service's refusal counter.</summary>
    public string RefusalMetric => Service switch
    {
        "statsd" => "cloudproxy_statsd_refusals_total",
        "sentry" => "cloudproxy_sentry_refusals_total",
        "graphite" => "cloudproxy_graphite_refusals_total",
        _ => "cloudproxy_reverseproxy_requests_refused_total",
    };

    public string Describe() => _process is null ? string.Empty : $"\nhost output:\n{_process.Tail()}";

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
            try
            {
                Directory.Delete(_process.WorkingDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        if (_inProcess is not null)
        {
            await _inProcess.DisposeAsync();
        }

        _udp?.Dispose();
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }

        if (_carbon is not null)
        {
            await _carbon.DisposeAsync();
        }

        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}

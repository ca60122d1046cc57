namespace CloudProxy.Core.Hosting;

/// <summary>
/// The parts of CloudProxy this process runs, from <c>--services</c> (<c>CloudProxy:Services</c>):
/// <c>all</c> (default) or a comma list of the names below.
/// </summary>
public sealed class ServiceRoles
{
    public const string StatsDIngress = "statsd-ingress";
    public const string StatsDForwarder = "statsd-forwarder";
    public const string SentryIngress = "sentry-ingress";
    public const string SentryForwarder = "sentry-forwarder";
    public const string GraphiteGateway = "graphite-gateway";
    public const string GraphiteForwarder = "graphite-forwarder";
    public const string ReverseProxy = "reverse-proxy";
    public const string All = "all";

    /// <summary>Every role this build knows, in the order <c>--help</c> lists them.</summary>
    public static readonly IReadOnlyList<string> Known =
    [
        StatsDIngress, StatsDForwarder, SentryIngress, SentryForwarder, GraphiteGateway, GraphiteForwarder, ReverseProxy,
    ];

    /// <summary>Roles whose module is built; the others are accepted by name but refused at start.</summary>
    public static readonly IReadOnlySet<string> Implemented = new HashSet<string>(StringComparer.Ordinal)
    {
        StatsDIngress, StatsDForwarder,
        // sentry (issue 3)
        SentryIngress, SentryForwarder,
        // Graphite (issue 4)
        GraphiteGateway, GraphiteForwarder,
        // reverse proxy (issue 5)
        ReverseProxy,
    };

    /// <summary>Each ingress and the forwarder that delivers what it accepts.</summary>
    public static readonly IReadOnlyList<(string Ingress, string Forwarder)> Pairs =
    [
        (StatsDIngress, StatsDForwarder), (SentryIngress, SentryForwarder), (GraphiteGateway, GraphiteForwarder),
    ];

    private readonly HashSet<string> _roles;

    private ServiceRoles(HashSet<string> roles) => _roles = roles;

    public IReadOnlyCollection<string> Names => _roles;

    public bool Has(string role) => _roles.Contains(role);

    /// <summary>
    /// With the embedded transport an ingress hands its envelopes to a forwarder in the same process: the message
    /// naming the first ingress asked for without its forwarder, or null.
    /// </summary>
    public string? IngressWithoutItsForwarder() =>
        Pairs.Where(p => Has(p.Ingress) && !Has(p.Forwarder))
            .Select(p => $"--services: {p.Ingress} without {p.Forwarder} needs --transport dapr (the embedded transport delivers in-process)")
            .FirstOrDefault();

    /// <summary>Parses the option; on failure returns null and a message naming the option and the bad value.</summary>
    public static ServiceRoles? Parse(string? value, out string? error)
    {
        error = null;
        var roles = new HashSet<string>(StringComparer.Ordinal);
        var text = string.IsNullOrWhiteSpace(value) ? All : value;
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = raw.ToLowerInvariant();
            if (name == All)
            {
                roles.UnionWith(Implemented);
            }
            else if (!Known.Contains(name))
            {
                error = $"--services (CloudProxy:Services): unknown service '{raw}'; expected 'all' or a comma list of {string.Join(", ", Known)}";
                return null;
            }
            else if (!Implemented.Contains(name))
            {
                error = $"--services (CloudProxy:Services): service '{raw}' is not built into this version yet";
                return null;
            }
            else
            {
                roles.Add(name);
            }
        }

        if (roles.Count == 0)
        {
            error = "--services (CloudProxy:Services): no service named";
            return null;
        }

        return new ServiceRoles(roles);
    }

    public static ServiceRoles FromNames(params string[] names) => new(new HashSet<string>(names, StringComparer.Ordinal));
}

using System.Net;using CloudProxy.Core.Options;using CloudProxy.Graphite.Protocol;using Microsoft.Extensions.Options;

namespace CloudProxy.Graphite;

/// <summary>
/// Checks the settings of the roles this process runs and reports every failure at once, each naming the
/// setting (and the polymur-gateway flag, where there is one).
/// </summary>
internal sealed class GraphiteOptionsValidator(bool gateway, bool forwarder) : IValidateOptions<GraphiteOptions>
{
    private const string S = GraphiteOptions.Section;

    /// <summary>broadcast, carbon_ch (hash-route, polymur's name for it), fnv1a_ch; null when unknown.</summary>
    public static GraphiteDistribution? ParseDistribution(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "broadcast" => GraphiteDistribution.Broadcast,
        "carbon_ch" or "carbonch" or "hash-route" => GraphiteDistribution.CarbonCh,
        "fnv1a_ch" or "fnv1ach" => GraphiteDistribution.Fnv1aCh,
        _ => null,
    };

    /// <summary><c>ip:port</c> or <c>localhost:port</c>; null when malformed.</summary>
    public static IPEndPoint? ParseEndPoint(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            address = "127.0.0.1" + address[9..];
        }

        return IPEndPoint.TryParse(address, out var endPoint) && address.Contains(':', StringComparison.Ordinal) ? endPoint : null;
    }

    public ValidateOptionsResult Validate(string? name, GraphiteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Topic))
        {
            failures.Add($"{S}:Topic must not be empty");
        }

        if (gateway)
        {
            ValidateGateway(options.Gateway, failures);
        }

        if (forwarder)
        {
            ValidateForwarder(options.Forwarder, failures, dedicated: !gateway);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateGateway(GraphiteGatewayOptions o, List<string> failures)
    {
        if (o.MaxBodyBytes is < 1024 or > int.MaxValue)
        {
            failures.Add($"{S}:Gateway:MaxBodyBytes must be between 1024 and {int.MaxValue} (got {o.MaxBodyBytes})");
        }

        if (o.MaxDecompressedBytes is < 1024 or > int.MaxValue)
        {
            failures.Add($"{S}:Gateway:MaxDecompressedBytes must be between 1024 and {int.MaxValue} (got {o.MaxDecompressedBytes})");
        }

        if (o.MaxNameLength is < 1 or > 4096)
        {
            failures.Add($"{S}:Gateway:MaxNameLength must be between 1 and 4096 (got {o.MaxNameLength})");
        }

        if (o.MaxFutureSeconds < 0 || o.MaxAgeSeconds < 0)
        {
            failures.Add($"{S}:Gateway:MaxFutureSeconds and MaxAgeSeconds must not be negative");
        }

        foreach (var (address, key) in new[] { (o.PlaintextAddress, nameof(o.PlaintextAddress)), (o.AdminAddress, nameof(o.AdminAddress)) })
        {
            if (!string.IsNullOrEmpty(address) && ParseEndPoint(address) is null)
            {
                failures.Add($"{SettingCatalog.Name<GraphiteGatewayOptions>(S + ":Gateway", key)}: '{address}' is not ip:port (localhost allowed; port 0 picks a free one; empty turns it off)");
            }
        }

        if (!double.IsFinite(o.PlaintextPointsPerSecond) || o.PlaintextPointsPerSecond < 0
            || !double.IsFinite(o.PlaintextBurst) || o.PlaintextBurst < 0 || o.PlaintextBurst is > 0 and < 1)
        {
            failures.Add($"{S}:Gateway:PlaintextPointsPerSecond must be 0 (off) or positive and PlaintextBurst 0 (one second's worth) or at least 1 (got {o.PlaintextPointsPerSecond}, {o.PlaintextBurst})");
        }

        foreach (var proxy in o.TrustedProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"{S}:Gateway:TrustedProxies: '{proxy}' is not an IP address");
            }
        }

        if (o.KeyRefreshSeconds is < 1 or > 86400)
        {
            failures.Add($"{S}:Gateway:KeyRefreshSeconds must be between 1 and 86400 (got {o.KeyRefreshSeconds})");
        }

        if (string.IsNullOrWhiteSpace(o.KeysStateKey))
        {
            failures.Add($"{S}:Gateway:KeysStateKey must not be empty");
        }

        if (o.RecentBadLines is < 0 or > 1000 || o.MaxKeyLabels is < 1 or > 10000)
        {
            failures.Add($"{S}:Gateway:RecentBadLines must be 0..1000 and MaxKeyLabels 1..10000");
        }
    }

    private static void ValidateForwarder(GraphiteForwarderOptions o, List<string> failures, bool dedicated)
    {
        var destinations = new List<GraphiteDestination>();
        foreach (var text in o.DestinationList())
        {
            var destination = GraphiteDestination.Parse(text, out var error);
            if (destination is null)
            {
                failures.Add($"{SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.Destinations))}: {error}");
            }
            else
            {
                destinations.Add(destination);
            }
        }

        if (!string.IsNullOrWhiteSpace(o.RoutesFile))
        {
            if (destinations.Count > 0 || !string.Equals(o.Distribution, "broadcast", StringComparison.OrdinalIgnoreCase) || o.ReplicationFactor != 1)
            {
                failures.Add($"{S}:Forwarder:RoutesFile defines the destinations in its clusters: leave {SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.Destinations))}, Distribution and ReplicationFactor unset");
            }

            var errors = new List<string>();
            Routing.GraphiteRouteConfig.Load(o.RoutesFile, errors);
            failures.AddRange(errors.Select(e => $"{S}:Forwarder:RoutesFile: {e}"));
        }
        else if (dedicated && destinations.Count == 0)
        {
            failures.Add($"{SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.Destinations))} must name at least one host:port[:instance]");
        }

        var distribution = ParseDistribution(o.Distribution);
        if (distribution is null)
        {
            failures.Add($"{SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.Distribution))}: '{o.Distribution}' is not broadcast, carbon_ch (hash-route) or fnv1a_ch");
        }
        else if (distribution == GraphiteDistribution.CarbonCh
            && destinations.GroupBy(d => (d.Host, d.Instance)).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            // carbon refuses this too: the ring's node is (server, instance), the port is not part of it.
            failures.Add($"{S}:Forwarder:Destinations: carbon_ch needs distinct (host, instance) pairs; {twice.Key.Host} with instance {twice.Key.Instance ?? "None"} appears twice (add :instance)");
        }
        else if (distribution == GraphiteDistribution.Fnv1aCh
            && destinations.GroupBy(d => (d.Host, d.Port)).FirstOrDefault(g => g.Count() > 1) is { } same)
        {
            failures.Add($"{S}:Forwarder:Destinations: fnv1a_ch needs distinct host:port pairs; {same.Key.Host}:{same.Key.Port} appears twice");
        }

        if (destinations.Select(d => d.Name).Distinct(StringComparer.Ordinal).Count() != destinations.Count)
        {
            failures.Add($"{SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.Destinations))}: a destination is listed twice");
        }

        if (o.ReplicationFactor < 1 || (destinations.Count > 0 && o.ReplicationFactor > destinations.Count))
        {
            failures.Add($"{S}:Forwarder:ReplicationFactor must be between 1 and the number of destinations (got {o.ReplicationFactor})");
        }

        if (!string.IsNullOrWhiteSpace(o.AggregationRulesFile))
        {
            var errors = new List<string>();
            Routing.GraphiteAggregator.Load(o.AggregationRulesFile, errors);
            failures.AddRange(errors.Select(e => $"{S}:Forwarder:AggregationRulesFile: {e}"));
        }

        if (o.AggregationMaxIntervals is < 1 or > 10000)
        {
            failures.Add($"{S}:Forwarder:AggregationMaxIntervals must be between 1 and 10000 (got {o.AggregationMaxIntervals})");
        }

        if (o.QueuePoints < 1)
        {
            failures.Add($"{SettingCatalog.Name<GraphiteForwarderOptions>(S + ":Forwarder", nameof(GraphiteForwarderOptions.QueuePoints))} must be at least 1 (got {o.QueuePoints})");
        }

        if (o.SpoolMaxBytes < 1024 || o.ReplayPointsPerSecond < 1 || o.ResendWindowBytes < 0)
        {
            failures.Add($"{S}:Forwarder:SpoolMaxBytes must be at least 1024, ReplayPointsPerSecond at least 1, ResendWindowBytes not negative");
        }

        if (o.ConnectTimeoutSeconds is <= 0 or > 300 || o.MaxBackoffSeconds is <= 0 or > 3600)
        {
            failures.Add($"{S}:Forwarder:ConnectTimeoutSeconds must be in (0, 300] and MaxBackoffSeconds in (0, 3600]");
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace CloudProxy.Graphite.Keys;

/// <summary>One API key: its name (the tenant, used as prefix and label), the secret, and a per-key prefix choice.</summary>
internal sealed class GraphiteApiKey
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("key")]
    public required string Key { get; init; }

    /// <summary>Prefix this key's metrics with its name; null follows the gateway's <c>-key-prefix</c>.</summary>
    [JsonPropertyName("prefix")]
    public bool? Prefix { get; init; }

    [JsonPropertyName("created")]
    public DateTimeOffset Created { get; init; }

    /// <summary>
    /// The key's quota in points per second; null (and in documents written before quotas existed): no quota.
    /// </summary>
    [JsonPropertyName("pointsPerSecond")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PointsPerSecond { get; init; }

    /// <summary>Points the key may send at once above its rate; null: one second's worth (<see cref="PointsPerSecond"/>).</summary>
    [JsonPropertyName("burst")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Burst { get; init; }

    /// <summary>The rate and burst in force, or null when the key has no quota.</summary>
    [JsonIgnore]
    public (double PointsPerSecond, double Burst)? Quota =>
        PointsPerSecond is { } rate ? (rate, Burst ?? Math.Max(1, rate)) : null;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>24 random characters, as long as polymur's keys but from a CSPRNG.</summary>
    public static string NewSecret() => RandomNumberGenerator.GetString(Alphabet, 24);

    /// <summary>Key names become metric prefixes and labels: letters, digits, '_' and '-', at most 64.</summary>
    public static string? CheckName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64)
        {
            return "a key name is 1 to 64 characters";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return $"key name '{name}' may hold only letters, digits, '_' and '-'";
            }
        }

        return null;
    }
}

/// <summary>The document stored under one state key: all API keys.</summary>
internal sealed class GraphiteKeyDocument
{
    [JsonPropertyName("keys")]
    public List<GraphiteApiKey> Keys { get; init; } = [];
}

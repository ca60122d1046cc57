using CloudProxy.Core.Options;

[assembly: SettingSection(CloudProxy.Core.Delivery.DeferralOptions.Section, typeof(CloudProxy.Core.Delivery.DeferralOptions))]

namespace CloudProxy.Core.Delivery;

/// <summary>Section <c>CloudProxy:Deferral</c>: how a forwarder's deferred envelopes are offered again.</summary>
public sealed class DeferralOptions
{
    public const string Section = "CloudProxy:Deferral";

    [Setting("The wait before each further attempt, in seconds, comma separated: an envelope deferred again moves on to the next wait, and stays at the last. Each wait is its own log, so within one every envelope is due in the order it came and the head is always the next one due.")]
    public string RetryDelaysSeconds { get; set; } = "1,5,30,120";

    [Setting("Most deferred envelopes offered to the forwarder per call.")]
    public int BatchSize { get; set; } = 256;

    /// <summary>The parsed delays; null when <see cref="RetryDelaysSeconds"/> is not a list of positive numbers.</summary>
    public IReadOnlyList<TimeSpan>? Delays()
    {
        var delays = new List<TimeSpan>();
        foreach (var part in RetryDelaysSeconds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                || seconds is <= 0 or > 86_400)
            {
                return null;
            }

            delays.Add(TimeSpan.FromSeconds(seconds));
        }

        return delays.Count is > 0 and <= 16 ? delays : null;
    }
}

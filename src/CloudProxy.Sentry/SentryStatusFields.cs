using Prometheus;

namespace CloudProxy.Sentry;

/// <summary>ogre's <c>ogre_info{version}</c> gauge (always 1), created once with the module.</summary>
internal sealed class SentryStatusFields
{
    public SentryStatusFields(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var info = factory.CreateCounter(SentryMetricNames.OgreInfo, "ogre: build information (always 1).", ["version"]);
        info.WithLabels(typeof(SentryStatusFields).Assembly.GetName().Version?.ToString() ?? string.Empty).IncTo(1);
    }
}

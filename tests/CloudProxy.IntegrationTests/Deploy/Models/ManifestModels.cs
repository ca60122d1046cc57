namespace CloudProxy.IntegrationTests.Deploy.Models;

/// <summary>Checks a rendered object against the model of its kind: the Kubernetes client's for built-in kinds,
/// Dapr's Go types for dapr.io, the Prometheus operator's CRDs for monitoring.coreos.com.</summary>
internal static class ManifestModels
{
    public static IReadOnlyList<string> Check(K8sObject o)
    {
        var apiVersion = o.Scalar("apiVersion");
        Shape? custom = (apiVersion, o.Kind) switch
        {
            ("dapr.io/v1alpha1", "Component") => DaprTypes.Component,
            ("dapr.io/v1alpha1", "Configuration") => DaprTypes.Configuration,
            ("dapr.io/v1alpha1", "Resiliency") => DaprTypes.Resiliency,
            ("monitoring.coreos.com/v1", "ServiceMonitor") => CrdShapes.ServiceMonitor,
            ("monitoring.coreos.com/v1", "PrometheusRule") => CrdShapes.PrometheusRule,
            _ => null,
        };
        if (custom is not null)
        {
            return [.. custom.Check(o.Root, o.Kind)];
        }

        return apiVersion is not null && (apiVersion.Contains("dapr.io", StringComparison.Ordinal) || apiVersion.Contains("coreos.com", StringComparison.Ordinal))
            ? [$"{apiVersion} {o.Kind}: no model for this kind; add its Go type's fields (Deploy/Models)"]
            : KubernetesModels.Check(o.Root);
    }
}

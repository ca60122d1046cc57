using CloudProxy.Core.Hosting;
using CloudProxy.Core.Transport;
using CloudProxy.StatsD.Forwarder;
using CloudProxy.StatsD.Ingress;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.StatsD.Tests;

public class StatsDServiceCollectionExtensionsTests
{
    private static IServiceCollection Register(params string[] roles)
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();
        new CloudProxyBuilder(services, configuration, ServiceRoles.FromNames(roles)).AddStatsD();
        return services;
    }

    [Fact]
    public void Forwarder_role_alone_registers_the_envelope_handler_and_no_ingress()
    {
        var services = Register(ServiceRoles.StatsDForwarder);
        Assert.Contains(services, d => d.ServiceType == typeof(IEnvelopeHandler));
        Assert.Contains(services, d => d.ServiceType == typeof(StatsDForwarder));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(StatsDIngressHandler));
    }

    [Fact]
    public void Ingress_role_alone_registers_the_endpoints_and_no_handler()
    {
        var services = Register(ServiceRoles.StatsDIngress);
        Assert.Contains(services, d => d.ServiceType == typeof(StatsDIngressHandler));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IEnvelopeHandler));
    }

    [Fact]
    public void Other_roles_register_nothing_of_StatsD()
    {
        var services = Register(ServiceRoles.SentryIngress);
        Assert.Empty(services);
    }
}

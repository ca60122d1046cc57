using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudProxy.Core.Hosting;

/// <summary>What modules chain their <c>AddXxx()</c> on: the services, the configuration and the roles.</summary>
public sealed class CloudProxyBuilder(IServiceCollection services, IConfiguration configuration, ServiceRoles roles)
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    public ServiceRoles Roles { get; } = roles;
}

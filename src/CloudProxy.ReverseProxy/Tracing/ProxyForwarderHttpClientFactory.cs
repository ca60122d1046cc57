using System.Diagnostics;
using Yarp.ReverseProxy.Forwarder;

namespace CloudProxy.ReverseProxy.Tracing;

/// <summary>YARP's client factory with the propagator of our choice (YARP takes the process-wide one otherwise).</summary>
internal sealed class ProxyForwarderHttpClientFactory(DistributedContextPropagator propagator) : ForwarderHttpClientFactory
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ActivityHeadersPropagator = new ReverseProxyPropagator(propagator);
    }
}

namespace CloudProxy.Transport.Dapr.Publishing;

/// <summary>The sidecar could not be reached at all; nothing of the batch was published.</summary>
public sealed class DaprSidecarUnavailableException : Exception
{
    public DaprSidecarUnavailableException()
    {
    }

    public DaprSidecarUnavailableException(string message)
        : base(message)
    {
    }

    public DaprSidecarUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

namespace CloudProxy.Core.Status;

/// <summary>A queue whose depth <c>/_status</c> reports. Register as a singleton <see cref="IQueueDepth"/>.</summary>
public interface IQueueDepth
{
    string Name { get; }

    long Depth { get; }
}

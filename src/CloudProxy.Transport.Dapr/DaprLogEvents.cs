namespace CloudProxy.Transport.Dapr;

/// <summary>Every log event id of the Dapr transport, in one place (range 2000–2999, see Core's LogEvents).</summary>
internal static class DaprLogEvents
{
    public const int PublishRefused = 2001;
    public const int BulkPublishDowngraded = 2002;
    public const int BulkEntriesFailed = 2003;
    public const int UnknownFailedEntryId = 2004;
    public const int SidecarUnreachable = 2005;
    public const int BulkRefusedPublishingSingly = 2006;
    public const int DeliveryDropped = 2010;
    public const int DeliveryRefused = 2011;
    public const int HandlerFailed = 2012;
    public const int BulkEntryWithoutId = 2013;
    public const int Redeliveries = 2014;
    public const int StateOperationFailed = 2020;
}

namespace CloudProxy.ReverseProxy;

/// <summary>Every log event id of the reverse proxy, in one place (range 6000–6999, see Core's LogEvents).</summary>
internal static class ReverseProxyEventIds
{
    public const int Listening = 6001;
    public const int NotStarted = 6002;
    public const int CacheStoreFailed = 6010;
    public const int CacheRefreshFailed = 6011;
    public const int PurgeSyncFailed = 6012;
    public const int RateLimitStoreFailed = 6020;
    public const int SharedRateLimitStoreFailed = 6021;
    public const int QueryFailed = 6030;
    public const int WindowCut = 6031;
    public const int QueriesValidated = 6032;
}

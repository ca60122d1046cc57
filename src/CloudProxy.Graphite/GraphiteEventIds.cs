namespace CloudProxy.Graphite;

/// <summary>Every log event id of the Graphite module, in one place (range 5000–5999, see Core's LogEvents).</summary>
internal static class GraphiteEventIds
{
    public const int InvalidKey = 5001;
    public const int BatchReceived = 5002;
    public const int BatchRefused = 5003;
    public const int OutboxFull = 5004;
    public const int KeysRefreshed = 5010;
    public const int KeyRefreshFailed = 5011;
    public const int DevMode = 5012;
    public const int AdminListening = 5013;
    public const int AdminDisabled = 5014;
    public const int PlaintextListening = 5020;
    public const int PlaintextConnectionFailed = 5021;
    public const int Connected = 5030;
    public const int ConnectFailed = 5031;
    public const int SendFailed = 5032;
    public const int SpoolFull = 5033;
    public const int UnknownKind = 5034;
    public const int NoDestinations = 5035;
    public const int SpoolOpened = 5036;
    public const int LostAtShutdown = 5037;
}

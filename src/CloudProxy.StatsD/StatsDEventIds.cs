namespace CloudProxy.StatsD;

/// <summary>Every log event id of the StatsD module, in one place (range 3000–3999, see Core's LogEvents).</summary>
internal static class StatsDEventIds
{
    public const int SendFailed = 3001;
    public const int UnknownKind = 3002;
    public const int LineTooLarge = 3003;
    public const int Connected = 3004;
    public const int DaemonDown = 3005;
    public const int DaemonBack = 3006;
    public const int Refused = 3010;
    public const int OutboxFull = 3011;
}

namespace CloudProxy.StatsD;

/// <summary>Every log event id of the StatsD module, in one place (range 2000–2099).</summary>
internal static class StatsDEventIds
{
    public const int SendFailed = 2001;
    public const int UnknownKind = 2002;
    public const int LineTooLarge = 2003;
    public const int Connected = 2004;
    public const int DaemonDown = 2005;
    public const int DaemonBack = 2006;
    public const int Refused = 2010;
    public const int OutboxFull = 2011;
}

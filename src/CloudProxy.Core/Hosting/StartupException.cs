using CloudProxy.Core.Options;

namespace CloudProxy.Core.Hosting;

/// <summary>A setting that stops start-up; the message names the option.</summary>
public sealed class StartupException : Exception
{
    public StartupException()
    {
    }

    // The message may echo a setting: a URL's user:password@ never reaches a terminal or a log.
    public StartupException(string message)
        : base(SecretRedaction.Redact(message))
    {
    }

    public StartupException(string message, Exception innerException)
        : base(SecretRedaction.Redact(message), innerException)
    {
    }
}

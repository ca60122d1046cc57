using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace CloudProxy.Core.Hosting;

/// <summary>
/// A listener could not take its address (in use, not on this host, not allowed). Thrown at start by every
/// listener the host opens besides the main one, naming the setting that chose the address, so the host stops
/// with one line an operator can act on instead of a stack trace.
/// </summary>
public sealed class ListenerBindException : Exception
{
    public ListenerBindException()
    {
        Setting = string.Empty;
        Address = string.Empty;
    }

    public ListenerBindException(string message)
        : base(message)
    {
        Setting = string.Empty;
        Address = string.Empty;
    }

    public ListenerBindException(string message, Exception innerException)
        : base(message, innerException)
    {
        Setting = string.Empty;
        Address = string.Empty;
    }

    public ListenerBindException(string setting, string address, Exception innerException)
        : base($"cannot listen on {address} ({setting}): {Reason(innerException)}", innerException)
    {
        Setting = setting;
        Address = address;
    }

    /// <summary>The configuration key that chose the address, e.g. <c>CloudProxy:Graphite:Gateway:PlaintextAddress</c>.</summary>
    public string Setting { get; }

    public string Address { get; }

    /// <summary>
    /// True for what a failed bind throws: a <see cref="SocketException"/>, or Kestrel's IOException around one
    /// (Kestrel reports "address already in use" as an IOException whose inner exception is its own
    /// AddressInUseException, and passes other socket errors through).
    /// </summary>
    public static bool IsBindFailure(Exception? exception) => exception switch
    {
        ListenerBindException or SocketException => true,
        IOException { InnerException: SocketException or AddressInUseException } => true,
        _ => false,
    };

    /// <summary>"address already in use", "permission denied", …: the socket error, without the exception's type.</summary>
    public static string Reason(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => "address already in use",
                    SocketError.AccessDenied => "permission denied (a port below 1024 needs privileges)",
                    SocketError.AddressNotAvailable => "address not available on this host",
                    _ => socket.Message,
                };
            }

            if (e is AddressInUseException)
            {
                return "address already in use";
            }
        }

        return exception.Message;
    }
}

using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Options;

/// <summary>Collects every failure in Core's settings, each naming its configuration key.</summary>
public sealed class CoreOptionsValidator :
    IValidateOptions<OutboxOptions>, IValidateOptions<SpoolOptions>, IValidateOptions<TransportOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = OutboxOptions.Section;
        Require(errors, options.Capacity > 0, $"{s}:Capacity must be at least 1 (got {options.Capacity})");
        Require(errors, options.MaxBytes > 0, $"{s}:MaxBytes must be at least 1 (got {options.MaxBytes})");
        Require(errors, options.BatchSize is > 0 and <= 100_000, $"{s}:BatchSize must be between 1 and 100000 (got {options.BatchSize})");
        Require(errors, options.LingerMilliseconds is >= 0 and <= 60_000, $"{s}:LingerMilliseconds must be between 0 and 60000 (got {options.LingerMilliseconds})");
        Require(errors, options.DrainTimeoutSeconds is > 0 and <= 300, $"{s}:DrainTimeoutSeconds must be in (0, 300] (got {options.DrainTimeoutSeconds})");
        Require(errors, options.MaxBackoffSeconds is >= 0.1 and <= 600, $"{s}:MaxBackoffSeconds must be in [0.1, 600] (got {options.MaxBackoffSeconds})");
        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, SpoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = SpoolOptions.Section;
        if (options.Enabled)
        {
            Require(errors, !string.IsNullOrWhiteSpace(options.Path), $"{s}:Path must name a file when the spool is enabled");
            Require(errors, options.MaxBytes > 0, $"{s}:MaxBytes must be at least 1 when the spool is enabled (got {options.MaxBytes})");
        }

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, TransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = TransportOptions.Section;
        Require(errors, Enum.IsDefined(options.Kind), $"{s}:Kind (--transport) must be 'embedded' or 'dapr'");
        Require(errors, !string.IsNullOrWhiteSpace(options.PubSubName), $"{s}:PubSubName must not be empty");
        Require(errors, options.BulkSubscribeMaxMessages is > 0 and <= 1000, $"{s}:BulkSubscribeMaxMessages must be between 1 and 1000 (got {options.BulkSubscribeMaxMessages})");
        Require(errors, options.BulkSubscribeMaxAwaitMs is >= 0 and <= 60_000, $"{s}:BulkSubscribeMaxAwaitMs must be between 0 and 60000 (got {options.BulkSubscribeMaxAwaitMs})");
        return Result(errors);
    }

    private static void Require(List<string> errors, bool condition, string message)
    {
        if (!condition)
        {
            errors.Add(message);
        }
    }

    private static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}

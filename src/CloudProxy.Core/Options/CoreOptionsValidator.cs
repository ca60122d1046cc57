using CloudProxy.Core.Delivery;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Spool;
using CloudProxy.Core.Transport;
using Microsoft.Extensions.Options;

namespace CloudProxy.Core.Options;

/// <summary>Collects every failure in Core's settings, each naming its configuration key.</summary>
internal sealed class CoreOptionsValidator :
    IValidateOptions<OutboxOptions>, IValidateOptions<SpoolOptions>, IValidateOptions<TransportOptions>, IValidateOptions<DeferralOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = OutboxOptions.Section;
        Require(errors, Enum.IsDefined(options.Durability), $"{SettingCatalog.Name<OutboxOptions>(s, nameof(OutboxOptions.Durability))} must be 'Durable' or 'Memory'");
        Require(errors, options.Capacity > 0, $"{s}:Capacity must be at least 1 (got {options.Capacity})");
        Require(errors, options.MaxBytes >= 0, $"{s}:MaxBytes must not be negative (got {options.MaxBytes})");
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
        Require(errors, !string.IsNullOrWhiteSpace(options.Path), $"{SettingCatalog.Name<SpoolOptions>(s, nameof(SpoolOptions.Path))} must name a folder");
        Require(errors, options.MaxBytes >= 1024 * 1024, $"{SettingCatalog.Name<SpoolOptions>(s, nameof(SpoolOptions.MaxBytes))} must be at least 1 MiB (got {options.MaxBytes})");
        Require(errors, options.SegmentBytes is >= 64 * 1024 and <= 1L << 30, $"{s}:SegmentBytes must be between 64 KiB and 1 GiB (got {options.SegmentBytes})");
        Require(errors, Enum.IsDefined(options.Fsync), $"{SettingCatalog.Name<SpoolOptions>(s, nameof(SpoolOptions.Fsync))} must be 'None', 'Interval' or 'Always'");
        Require(errors, options.FsyncIntervalMilliseconds is >= 1 and <= 600_000, $"{s}:FsyncIntervalMilliseconds must be between 1 and 600000 (got {options.FsyncIntervalMilliseconds})");
        Require(errors, options.ReserveShare is >= 0 and < 0.9, $"{s}:ReserveShare must be in [0, 0.9) (got {options.ReserveShare})");
        Require(errors, options.QuarantineMaxBytes >= 64 * 1024, $"{s}:QuarantineMaxBytes must be at least 64 KiB (got {options.QuarantineMaxBytes})");

        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, TransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = TransportOptions.Section;
        Require(errors, Enum.IsDefined(options.Kind), $"{SettingCatalog.Name<TransportOptions>(s, nameof(TransportOptions.Kind))} must be 'embedded' or 'dapr'");
        Require(errors, !string.IsNullOrWhiteSpace(options.PubSubName), $"{s}:PubSubName must not be empty");
        Require(errors, options.BulkSubscribeMaxMessages is > 0 and <= 1000, $"{s}:BulkSubscribeMaxMessages must be between 1 and 1000 (got {options.BulkSubscribeMaxMessages})");
        Require(errors, options.BulkSubscribeMaxAwaitMs is >= 0 and <= 60_000, $"{s}:BulkSubscribeMaxAwaitMs must be between 0 and 60000 (got {options.BulkSubscribeMaxAwaitMs})");
        return Result(errors);
    }

    public ValidateOptionsResult Validate(string? name, DeferralOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = DeferralOptions.Section;
        Require(errors, options.Delays() is not null, $"{s}:RetryDelaysSeconds must be 1 to 16 comma-separated seconds, each in (0, 86400] (got '{options.RetryDelaysSeconds}')");
        Require(errors, options.BatchSize is > 0 and <= 100_000, $"{s}:BatchSize must be between 1 and 100000 (got {options.BatchSize})");
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

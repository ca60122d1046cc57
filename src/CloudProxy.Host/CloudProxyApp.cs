using CloudProxy.Core.Hosting;
using CloudProxy.Core.Logging;
using CloudProxy.Core.Options;
using CloudProxy.Core.Outbox;
using CloudProxy.Core.Status;
using CloudProxy.Core.Transport;
using CloudProxy.Graphite;
using CloudProxy.Graphite.Keys;
using CloudProxy.ReverseProxy;
using CloudProxy.Sentry;
using CloudProxy.StatsD;
using CloudProxy.Transport.Dapr;
using CloudProxy.Transport.Dapr.Subscriptions;
using Microsoft.Extensions.Options;

namespace CloudProxy.Host;

/// <summary>Composes the host from the role list. Program.cs only calls <see cref="RunAsync"/>.</summary>
internal static class CloudProxyApp
{
    public static BuildInfo BuildInfo { get; } = BuildInfo.FromAssembly(typeof(CloudProxyApp).Assembly);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (CommandLine.Wants(args, "--help", "-h", "-help", "-?"))
        {
            await stdout.WriteAsync(CommandLine.HelpText(BuildInfo.Version));
            return 0;
        }

        if (CommandLine.Wants(args, "--version", "-version"))
        {
            await stdout.WriteLineAsync(BuildInfo.ToString());
            return 0;
        }

        if (args is ["keys", ..])
        {
            return await RunKeysAsync(args[1..], stdout, stderr);
        }

        if (args is ["graphite-route-test", ..])
        {
            return await CloudProxy.Graphite.Routing.GraphiteRouteTestCommand.RunAsync(args[1..], Console.In, stdout, stderr);
        }

        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (StartupException ex)
        {
            await stderr.WriteLineAsync($"cloudproxy: {SecretRedaction.Redact(ex.Message)}");
            return 2;
        }

        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (ListenerBindException.IsBindFailure(ex))
        {
            await stderr.WriteLineAsync($"cloudproxy: {DescribeBindFailure(ex, args, app.Configuration)}");
            await app.DisposeAsync();
            return 2;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException or FormatException)
        {
            await stderr.WriteLineAsync($"cloudproxy: invalid configuration: {Describe(ex)}");
            await app.DisposeAsync();
            return 2;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>Builds the host without starting it. Throws <see cref="StartupException"/> naming a bad option.</summary>
    public static WebApplication Build(string[] args)
    {
        // Also in the runtimeconfig (CloudProxy.Host.csproj); set here too for hosts built in another process's
        // entry point (tests), where it still takes effect if no compression stream was used before.
        AppContext.SetSwitch("System.IO.Compression.UseStrictValidation", true);
        var normalized = CommandLine.Normalize(args, out var switchMappings);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        LoggingDefaults.AddTo(builder.Configuration);
        try
        {
            builder.Configuration.AddInMemoryCollection(CommandLine.FromEnvironment());
            builder.Configuration.AddCommandLine(normalized, switchMappings);
        }
        catch (FormatException ex)
        {
            throw new StartupException($"{ex.Message} (see --help)", ex);
        }

        var configuration = builder.Configuration;
        var roles = ServiceRoles.Parse(configuration["CloudProxy:Services"], out var rolesError)
            ?? throw new StartupException(rolesError!);
        var transport = ParseTransport(configuration["CloudProxy:Transport:Kind"]);
        if (transport == TransportKind.Embedded && roles.IngressWithoutItsForwarder() is { } lonely)
        {
            throw new StartupException(lonely);
        }

        if (configuration.GetValue<bool>("CloudProxy:Verbose"))
        {
            LoggingDefaults.AddVerbose(builder.Configuration);
        }

        QuietBindFailures.Register(builder.Services);

        MainListener.Configure(builder);
        var drain = configuration.GetValue<double?>($"{OutboxOptions.Section}:DrainTimeoutSeconds") ?? new OutboxOptions().DrainTimeoutSeconds;
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Clamp(drain, 1, 300) + 5));

        builder.Services.AddCors();
        builder.Services.AddHostedService<CloudProxy.Core.Buffers.MemoryTrim>();
        builder.Services.AddCloudProxyCore(configuration, roles, BuildInfo)
            .AddDaprTransport()
            .AddStatsD()
            .AddSentry()
            .AddGraphite()
            .AddReverseProxyService();

        var app = builder.Build();

        // Validate every option before any module resolves its services (mapping endpoints does), so a bad
        // value is one line naming it, not a stack trace from a constructor.
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            throw new StartupException($"invalid configuration: {Describe(ex)}", ex);
        }

        app.UseCors();
        app.MapCloudProxyCore();
        app.MapDaprSubscriptions();
        app.MapStatsD();
        app.MapSentry();
        app.MapGraphite();
        return app;
    }

    /// <summary><c>cloudproxy keys …</c> (polymur's pgw-key) against the configured state store.</summary>
    private static async Task<int> RunKeysAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var (words, options) = GraphiteKeysCommand.Split(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        LoggingDefaults.AddTo(builder.Configuration);
        builder.Configuration.AddCommandLine(CommandLine.Normalize(options, out var switchMappings), switchMappings);
        builder.Services.AddCloudProxyCore(builder.Configuration, ServiceRoles.FromNames(ServiceRoles.GraphiteGateway), BuildInfo)
            .AddDaprTransport()
            .AddGraphiteKeys();
        await using var app = builder.Build();
        return await GraphiteKeysCommand.RunAsync(words, app.Services, stdout, stderr);
    }

    private static TransportKind ParseTransport(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return TransportKind.Embedded;
        }

        return Enum.TryParse<TransportKind>(value, ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? kind
            : throw new StartupException($"--transport (CloudProxy:Transport:Kind): '{value}' is not 'embedded' or 'dapr'");
    }

    /// <summary>One line naming the address and the option that chose it (as the user spelled it), and why.</summary>
    private static string DescribeBindFailure(Exception ex, string[] args, IConfiguration configuration)
    {
        if (ex is ListenerBindException listener)
        {
            return $"cannot listen on {listener.Address} ({CommandLine.NameOf(listener.Setting, args)}): {ListenerBindException.Reason(ex)}";
        }

        // Not one of the modules' listeners: the main Kestrel endpoint.
        var urls = configuration["urls"] ?? configuration["ASPNETCORE_URLS"];
        if (!string.IsNullOrEmpty(urls))
        {
            return $"cannot listen on {urls} (--urls): {ListenerBindException.Reason(ex)}";
        }

        var http = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
        var names = $"{CommandLine.NameOf(HttpOptions.Section + ":Host", args)}; {CommandLine.NameOf(HttpOptions.Section + ":Port", args)}";
        return $"cannot listen on {http.Host}:{http.Port} ({names}): {ListenerBindException.Reason(ex)}";
    }

    /// <summary>One line naming every failure (and the seed flag of each option), credentials in URLs redacted.</summary>
    private static string Describe(Exception ex)
    {
        var message = SecretRedaction.Redact(ex is OptionsValidationException validation
            ? string.Join("; ", validation.Failures)
            : ex.Message);
        foreach (var flag in CommandLine.Flags)
        {
            // A validator that already names the flag ("Port (--statsd-port) must …") is not told it twice.
            if ((message.Contains($"'{flag.Key}'", StringComparison.OrdinalIgnoreCase) || message.Contains(flag.Key + " ", StringComparison.OrdinalIgnoreCase))
                && !message.Contains($"({flag.Name})", StringComparison.OrdinalIgnoreCase))
            {
                message += $" (flag {flag.Name})";
            }
        }

        return message;
    }
}

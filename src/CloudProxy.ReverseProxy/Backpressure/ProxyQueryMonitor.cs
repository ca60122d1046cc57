using System.Globalization;
using System.Net;
using System.Text.Json;
using CloudProxy.Core.Logging;
using CloudProxy.ReverseProxy.Observability;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// Evaluates the backpressure queries against Prometheus (or Thanos) on a cadence, all queries in parallel so
/// one slow query does not hold the others. A condition query that returns any series cuts the window; value
/// queries set the allowance, smoothly from 1 at the warning threshold to 0 at the emergency threshold (the
/// smallest allowance wins). A query that cannot be answered (Prometheus down, an error, a value query with no
/// series) is counted by reason and moves the window toward the fail-safe value, step by step. At start-up each
/// query is checked by the server's own parser when it answers; a malformed one stops start-up.
/// </summary>
internal sealed partial class ProxyQueryMonitor(
    IHttpClientFactory clients, ProxyCongestionWindow window, ProxyMetrics metrics, IOptions<ReverseProxyOptions> options,
    TimeProvider time, ILogger<ProxyQueryMonitor> logger) : BackgroundService
{
    public const string ClientName = "cloudproxy-prometheus";

    private readonly ProxyBackpressureOptions _options = options.Value.Backpressure;
    private readonly Dictionary<string, double> _allowances = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LogThrottle> _queryFailedLogs = new(StringComparer.Ordinal);

    public static string NameOf(BackpressureQueryOptions query, int index) => string.IsNullOrWhiteSpace(query?.Name) ? $"q{index}" : query.Name;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Enabled && _options.Queries.Count > 0)
        {
            await ValidateAsync(cancellationToken);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.BackpressureAllowance.Set(1);
        metrics.BackpressureWindow.Set(window.Window);
        if (!_options.Enabled || _options.Queries.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.EvaluationIntervalSeconds), time);
        do
        {
            await EvaluateOnceAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task EvaluateOnceAsync(CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(_options.Queries.Select((q, i) => EvaluateAsync(q, NameOf(q, i), cancellationToken)));
        var fired = results.Any(r => r.Fired);
        window.SetQueryFiring(fired);
        if (fired)
        {
            metrics.BackpressureCuts.WithLabels("query").Inc();
        }

        double allowance;
        lock (_allowances)
        {
            allowance = _allowances.Count == 0 ? 1 : _allowances.Values.Min();
        }

        window.SetAllowance(allowance);

        // A query that could not be answered says nothing about the back end: rather than keep the window where
        // the last good answer left it (proxymw), walk it to the fail-safe value until every query answers again.
        var failing = results.Any(r => r.Failed);
        if (failing)
        {
            window.MoveTowardFailSafe(_options.EffectiveFailSafeWindow, FailSafeStep(_options));
        }
        else
        {
            window.EndFailSafe();
        }

        metrics.BackpressureFailSafe.Set(failing ? 1 : 0);
        metrics.BackpressureAllowance.Set(allowance);
        metrics.BackpressureWindow.Set(window.Window);
    }

    /// <summary>The step per evaluation that crosses the whole MinWindow..MaxWindow range in FailSafeSeconds.</summary>
    internal static int FailSafeStep(ProxyBackpressureOptions options) =>
        Math.Max(1, (int)Math.Ceiling((options.MaxWindow - options.MinWindow) * options.EvaluationIntervalSeconds / options.FailSafeSeconds));

    private readonly record struct Verdict(bool Fired, bool Failed);

    /// <summary>Whether a condition query fired (value queries update their allowance instead), or that the query failed.</summary>
    private async Task<Verdict> EvaluateAsync(BackpressureQueryOptions query, string name, CancellationToken cancellationToken)
    {
        string reason;
        Exception? error = null;
        try
        {
            var (ok, document, status) = await QueryAsync(query.Query, cancellationToken);
            using (document)
            {
                if (!ok)
                {
                    // Prometheus: 400 bad_data, 422 execution error; 503 timeout or a server behind a proxy in trouble.
                    reason = (int)status is >= 400 and < 500 ? "bad_query" : "unreachable";
                }
                else if (document is null || !TryRead(document.RootElement, out var series, out var value))
                {
                    reason = "bad_answer";
                }
                else if (query.WarningThreshold is { } warning && query.EmergencyThreshold is { } emergency)
                {
                    if (value is null)
                    {
                        // A value query with no series has lost its metric (exporter gone, renamed): unknown, not calm.
                        reason = "empty";
                    }
                    else
                    {
                        lock (_allowances)
                        {
                            _allowances[name] = 1 - Math.Clamp((value.Value - warning) / (emergency - warning), 0, 1);
                        }

                        metrics.QueryValue.WithLabels(name).Set(value.Value);
                        metrics.QueryFiring.WithLabels(name).Set(value >= warning ? 1 : 0);
                        return new Verdict(false, false);
                    }
                }
                else
                {
                    // A condition query's empty answer is its all-clear, by definition.
                    metrics.QueryValue.WithLabels(name).Set(series);
                    metrics.QueryFiring.WithLabels(name).Set(series > 0 ? 1 : 0);
                    return new Verdict(series > 0, false);
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            reason = "unreachable";
            error = ex;
        }

        lock (_allowances)
        {
            _allowances.Remove(name);
        }

        metrics.QueryErrors.WithLabels(name, reason).Inc();
        metrics.QueryFiring.WithLabels(name).Set(0);
        if (_queryFailedLogs.GetOrAdd(name, _ => new LogThrottle(time)).ShouldLog(out var failures))
        {
            Log.QueryFailed(logger, name, reason, failures, error);
        }

        return new Verdict(false, true);
    }

    private static bool TryRead(JsonElement root, out int series, out double? value)
    {
        try
        {
            (series, value) = Read(root.GetProperty("data"));
            return true;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentNullException)
        {
            (series, value) = (0, null);
            return false;
        }
    }

    /// <summary>Number of series, and the largest sample value (a scalar's value), of an instant query result.</summary>
    internal static (int Series, double? Value) Read(JsonElement data)
    {
        var result = data.GetProperty("result");
        if (data.GetProperty("resultType").GetString() is "scalar")
        {
            return (1, Sample(result));
        }

        double? largest = null;
        var series = 0;
        foreach (var item in result.EnumerateArray())
        {
            series++;
            if (item.TryGetProperty("value", out var sample))
            {
                var v = Sample(sample);
                largest = largest is null ? v : Math.Max(largest.Value, v);
            }
        }

        return (series, largest);
    }

    private static double Sample(JsonElement pair) =>
        double.Parse(pair[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private async Task<(bool Ok, JsonDocument? Document, HttpStatusCode Status)> QueryAsync(string query, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.QueryTimeoutSeconds));
        var client = clients.CreateClient(ClientName);
        var uri = new Uri(_options.PrometheusUrl!.TrimEnd('/') + "/api/v1/query?query=" + Uri.EscapeDataString(query));
        using var response = await client.GetAsync(uri, timeout.Token);
        var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        JsonDocument? document = null;
        try
        {
            document = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token);
        }
        catch (JsonException)
        {
        }

        return (response.IsSuccessStatusCode, document, response.StatusCode);
    }

    /// <summary>Asks the server to run each query once: a 400 with errorType bad_data is a parse error and stops start-up.</summary>
    private async Task ValidateAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var checkedByServer = true;
        for (var i = 0; i < _options.Queries.Count; i++)
        {
            var query = _options.Queries[i];
            try
            {
                var (ok, document, status) = await QueryAsync(query.Query, cancellationToken);
                using (document)
                {
                    if (!ok && status == HttpStatusCode.BadRequest && document is not null
                        && document.RootElement.TryGetProperty("errorType", out var type) && type.GetString() == "bad_data")
                    {
                        var error = document.RootElement.TryGetProperty("error", out var e) ? e.GetString() : "parse error";
                        failures.Add($"{ReverseProxyOptions.Section}:Backpressure:Queries:{i}:Query ({NameOf(query, i)}): Prometheus rejects it: {error}");
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                checkedByServer = false;
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(ReverseProxyOptions.Section, typeof(ReverseProxyOptions), failures);
        }

        Log.QueriesValidated(logger, _options.Queries.Count, checkedByServer ? "Prometheus's parser" : "the syntactic check only (Prometheus unreachable)");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ReverseProxyEventIds.QueryFailed, Level = LogLevel.Warning,
            Message = "Backpressure query {Query} failed ({Reason}) {Count} time(s) since the last report; the window walks to its fail-safe value")]
        public static partial void QueryFailed(ILogger logger, string query, string reason, long count, Exception? exception);

        [LoggerMessage(EventId = ReverseProxyEventIds.QueriesValidated, Level = LogLevel.Information, Message = "{Count} backpressure queries checked by {How}")]
        public static partial void QueriesValidated(ILogger logger, int count, string how);
    }
}

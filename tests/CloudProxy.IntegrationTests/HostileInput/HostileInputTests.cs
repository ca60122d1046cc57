using CloudProxy.Tests.Common;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>Starts each host set-up of the corpus once, on first use, and stops them all at the end.</summary>
public sealed class HostileRigs : IAsyncLifetime
{
    private readonly Dictionary<string, HostileRig> _rigs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostileCorpusFile> _files = new(StringComparer.Ordinal);

    internal HostileCorpusFile File(string service)
    {
        if (!_files.TryGetValue(service, out var file))
        {
            file = HostileCorpusFile.Load(service);
            _files[service] = file;
        }

        return file;
    }

    internal async Task<HostileRig> RigAsync(string service, string profile)
    {
        var id = service + "/" + profile;
        if (_rigs.TryGetValue(id, out var rig) && (rig.Process is null || !rig.Process.HasExited))
        {
            return rig;
        }

        if (rig is not null)
        {
            // A process host that died in an earlier case (that case failed): give the next case a fresh one.
            await rig.DisposeAsync();
        }

        rig = await HostileRig.StartAsync(service, File(service).Hosts[profile]);
        _rigs[id] = rig;
        return rig;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var rig in _rigs.Values)
        {
            await rig.DisposeAsync();
        }
    }
}

/// <summary>
/// The bad-input corpus (HostileInput/corpus, one file per service) against the real host and real listeners.
/// Each case sends its request(s), checks the status, the reason and the refusal counter on the host's own
/// /metrics, then sends the file's canary and waits for it at the listener: once it arrived, anything the
/// case let through would have arrived before it, so "nothing but the canary" means nothing was forwarded.
/// </summary>
public sealed class HostileInputTests(HostileRigs rigs) : IClassFixture<HostileRigs>
{
    private static int _sequence;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var service in new[] { "statsd", "sentry", "graphite", "reverse-proxy" })
        {
            foreach (var c in HostileCorpusFile.Load(service).Cases)
            {
                data.Add(service, c.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_input_is_answered_as_the_corpus_says_and_nothing_else_reaches_the_listener(string service, string name)
    {
        var file = rigs.File(service);
        var c = file.Cases.Single(x => x.Name == name);
        var rig = await rigs.RigAsync(service, c.Host);
        var n = Interlocked.Increment(ref _sequence);
        string Expand(string text) => HostileBodies.Expand(text, rig.Values, n);

        var before = rig.Reached().Count;
        var delivered = new List<string>();
        HostileSockets.HeldBodies? held = null;
        try
        {
            if (c.Load is { } load)
            {
                held = await HostileSockets.HoldDeclaredBodiesAsync(rig.Target, load, Expand);
            }

            var steps = c.Steps ?? [new HostileStep { Request = c.Request!, Expect = c.Expect! }];
            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                var label = steps.Count > 1 ? $"step {i + 1}: " : string.Empty;
                await RunStepAsync(rig, step, label, Expand);
                if (step.Expect.Delivered is { } text)
                {
                    delivered.Add(Expand(text));
                }
            }

            if (c.Load is not null)
            {
                // The connections are still open, each holding a declared body: the host must go on answering.
                Assert.True(await rig.IsHealthyAsync(), "the host stopped answering while the declared bodies were held" + rig.Describe());
            }

            if (file.Canary is { } canary)
            {
                // A barrier: once the canary reached the listener, whatever the case let through has too.
                var seen = Expand(file.CanarySeen!);
                var request = new HostileRequest
                {
                    Method = canary.Method,
                    Path = canary.Path,
                    Body = canary.Body,
                    Headers = canary.Headers.Concat(rig.Profile.CanaryHeaders).ToDictionary(h => h.Key, h => h.Value),
                };
                var (status, text, _) = await SendAsync(rig, request, Expand);
                Assert.True(status is >= 200 and < 300, $"the canary was answered {status} {text}{rig.Describe()}");
                Assert.True(await Eventually.TrueAsync(() => rig.Reached().Skip(before).Any(r => r.Contains(seen, StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
                    $"the canary {seen} did not reach the listener{rig.Describe()}");
                delivered.Add(seen);
            }

            if (held is not null)
            {
                var failed = held.Failed();
                Assert.True(failed == 0, $"{failed} connections with incomplete bodies were failed with a 5xx instead of waiting for their bytes{rig.Describe()}");
            }

            if (service != "reverse-proxy")
            {
                var unexpected = rig.Reached().Skip(before).Where(r => !delivered.Any(d => r.Contains(d, StringComparison.Ordinal))).ToList();
                Assert.True(unexpected.Count == 0, $"reached the listener although refused:\n{string.Join("\n", unexpected.Take(5))}");
            }
        }
        finally
        {
            if (held is not null)
            {
                await held.DisposeAsync();
            }
        }

        if (rig.Process is not null)
        {
            Assert.True(await rig.IsHealthyAsync(), "the host does not answer after the case" + rig.Describe());
        }
    }

    private static async Task RunStepAsync(HostileRig rig, HostileStep step, string label, Func<string, string> expand)
    {
        var expect = step.Expect;
        var request = step.Request;
        var counted = expect.Counted is null ? 0 : await rig.MetricAsync(rig.RefusalMetric, new Dictionary<string, string> { ["reason"] = expect.Counted });
        var metric = expect.Metric is null ? 0 : await rig.MetricAsync(expect.Metric.Name, expect.Metric.Labels);
        var backendBefore = rig.Backend?.Requests.Count ?? 0;

        var pending = new List<Task>();
        using var gate = new SemaphoreSlim(Math.Max(1, request.Parallel));
        for (var r = 0; r < request.Repeat; r++)
        {
            await gate.WaitAsync();
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    var (status, text, headers) = await SendAsync(rig, request, expand);
                    Assert.True(expect.Status == status, $"{label}expected {expect.Status}, got {status}: {Shorten(text)}{rig.Describe()}");
                    if (expect.Reason is { } reason)
                    {
                        Assert.True(text.Contains(reason, StringComparison.OrdinalIgnoreCase), $"{label}the answer does not give the reason '{reason}': {Shorten(text)}");
                    }

                    if (expect.BodyContains is { } contains)
                    {
                        Assert.True(text.Contains(expand(contains), StringComparison.Ordinal), $"{label}the answer lacks '{contains}': {Shorten(text)}");
                    }

                    if (expect.BodyNotContains is { } notContains)
                    {
                        Assert.False(text.Contains(expand(notContains), StringComparison.Ordinal), $"{label}the answer leaks '{notContains}': {Shorten(text)}");
                    }

                    foreach (var (name, value) in expect.ResponseHeaders)
                    {
                        Assert.True(headers.TryGetValue(name, out var actual) && actual == value, $"{label}header {name}: expected '{value}', got '{actual}'");
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(pending);
        if (expect.Counted is not null)
        {
            var after = await rig.MetricAsync(rig.RefusalMetric, new Dictionary<string, string> { ["reason"] = expect.Counted });
            Assert.True(after >= counted + request.Repeat, $"{label}{rig.RefusalMetric}{{reason=\"{expect.Counted}\"}} went from {counted} to {after}, not up by {request.Repeat}");
        }

        if (expect.Metric is { } m)
        {
            var after = await rig.MetricAsync(m.Name, m.Labels);
            Assert.True(after > metric, $"{label}{m.Name} {string.Join(",", m.Labels)} did not rise (still {after})");
        }

        if (rig.Backend is { } backend)
        {
            var arrived = backend.Requests.Skip(backendBefore).ToList();
            if (expect.BackendHits is { } hits)
            {
                Assert.True(hits == arrived.Count, $"{label}expected {hits} requests at the back end, got {arrived.Count}");
            }

            if (expect.BackendTarget is { } target)
            {
                Assert.Contains(expand(target), arrived.Select(a => a.Target));
            }

            foreach (var header in expect.BackendHeadersAbsent)
            {
                var leaked = arrived.Where(a => a.Headers.ContainsKey(header)).ToList();
                Assert.True(leaked.Count == 0, $"{label}the back end received {header}: {(leaked.Count > 0 ? leaked[0].Headers[header] : null)}");
            }
        }

        if (expect.Delivered is { } delivered)
        {
            var text = expand(delivered);
            Assert.True(await Eventually.TrueAsync(() => rig.Reached().Any(r => r.Contains(text, StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
                $"{label}'{text}' did not reach the listener{rig.Describe()}");
        }
    }

    private static async Task<(int Status, string Text, Dictionary<string, string> Headers)> SendAsync(HostileRig rig, HostileRequest request, Func<string, string> expand)
    {
        if (request.Raw is { } raw)
        {
            var (status, all) = await HostileSockets.SendRawAsync(rig.Target, expand(raw));
            return (status, all, []);
        }

        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(expand(request.Path), UriKind.Relative));
        var body = HostileBodies.Body(request.Body, rig.Values, SequenceOf(expand));
        if (body is not null)
        {
            message.Content = new ByteArrayContent(body);
            // As curl does above 1 MiB: the server may refuse on the headers alone (413), and without the
            // expectation it closes while the client is still writing, so the client sees a broken pipe instead
            // of the answer (a race that failed CI once).
            message.Headers.ExpectContinue = body.Length > 64 * 1024 ? true : null;
        }

        foreach (var (name, value) in request.Headers)
        {
            var v = expand(value);
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                message.Headers.Host = v;
            }
            else if (!message.Headers.TryAddWithoutValidation(name, v))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, v);
            }
        }

        using var response = await rig.Client.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        if (headers.TryGetValue("X-Sentry-Error", out var sentryError))
        {
            text = sentryError + "\n" + text;
        }

        return ((int)response.StatusCode, text, headers);
    }

    // Bodies are expanded with the same case number as the rest of the request.
    private static int SequenceOf(Func<string, string> expand) => int.Parse(expand("{n}"), System.Globalization.CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + "…";

}

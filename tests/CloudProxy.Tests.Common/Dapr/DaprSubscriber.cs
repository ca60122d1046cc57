using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace CloudProxy.Tests.Common.Dapr;

/// <summary>One HTTP request the sidecar double made to the app's topic route, and what the app answered.</summary>
public sealed record DaprDelivery(string Topic, string Path, bool Bulk, int Entries, long RequestBytes, int? Status, string Reply);

/// <summary>
/// daprd's subscriber side for an HTTP app, from dapr/dapr@d8450742: it reads <c>GET /dapr/subscribe</c>
/// (pkg/runtime/pubsub/subscriptions.go:101-206), and for each subscription on its pub/sub either delivers every
/// message on its own (pkg/runtime/subscription/subscription.go:148-414) or, with <c>bulkSubscribe.enabled</c>,
/// through the default bulk subscriber a component without native bulk subscribe gets — Redis among them
/// (pkg/runtime/pubsub/default_bulksub.go, pkg/runtime/subscription/bulksubscription.go, bulkresiliency.go).
/// The replies are read as postman/http/http.go:71-396 reads them. Every attempt goes through the inbound policy
/// (<see cref="DaprPolicyRunner"/>); whatever error is left when it gives up goes back to the component, which
/// for Redis means XACK (<see cref="RedisStreamsBroker"/>).
/// </summary>
internal sealed class DaprSubscriber : IAsyncDisposable
{
    private readonly RedisStreamsBroker _broker;
    private readonly DaprPolicyRunner _inbound;
    private readonly string _pubsubName;
    private readonly Uri _app;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<DaprDelivery> _deliveries = new();
    private readonly List<Task> _bulkLoops = [];

    public DaprSubscriber(RedisStreamsBroker broker, DaprPolicyRunner inbound, string pubsubName, Uri app)
    {
        _broker = broker;
        _inbound = inbound;
        _pubsubName = pubsubName;
        _app = app;
    }

    public IReadOnlyList<DaprDelivery> Deliveries => [.. _deliveries];

    /// <summary>Asks the app for its subscriptions and starts delivering; returns the topics subscribed.</summary>
    public async Task<IReadOnlyList<string>> StartAsync(CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync(new Uri(_app, "dapr/subscribe"), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        var topics = new List<string>();
        foreach (var sub in json.RootElement.EnumerateArray())
        {
            var pubsub = Text(sub, "pubsubname");
            var topic = Text(sub, "topic") ?? throw new InvalidOperationException("a subscription without a topic");
            if (!string.Equals(pubsub, _pubsubName, StringComparison.Ordinal))
            {
                continue;
            }

            if (Property(sub, "routes") is { ValueKind: JsonValueKind.Object } || Property(sub, "deadLetterTopic") is { ValueKind: JsonValueKind.String } || Property(sub, "metadata") is { ValueKind: JsonValueKind.Object })
            {
                throw new NotSupportedException($"the sidecar double does not model routing rules, dead-letter topics or subscription metadata (topic {topic})");
            }

            var path = Text(sub, "route");
            if (string.IsNullOrEmpty(path))
            {
                continue; // subscriptions.go:208-222 filters subscriptions without a route
            }

            var bulk = Property(sub, "bulkSubscribe");
            if (bulk is { ValueKind: JsonValueKind.Object } b && Property(b, "enabled") is { ValueKind: JsonValueKind.True })
            {
                // default_bulksub.go:26-29,68-71: 0 means the runtime default (100 messages, 1000 ms).
                var max = Int(b, "maxMessagesCount") is > 0 and var m ? m : 100;
                var wait = Int(b, "maxAwaitDurationMs") is > 0 and var w ? w : 1000;
                var batches = new BulkBatcher(this, topic, path, max, TimeSpan.FromMilliseconds(wait), _stopping.Token);
                _bulkLoops.Add(batches.Loop);
                await _broker.SubscribeAsync(topic, batches.HandleAsync, _stopping.Token);
            }
            else
            {
                await _broker.SubscribeAsync(topic, (msg, ct) => DeliverOneAsync(topic, path, msg, ct), _stopping.Token);
            }

            topics.Add(topic);
        }

        return topics;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_bulkLoops).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        _client.Dispose();
        _stopping.Dispose();
    }

    /// <summary>subscription.go:151-414: the handler of a subscription without bulk.</summary>
    private async Task<Exception?> DeliverOneAsync(string topic, string path, BrokerMessage msg, CancellationToken messageContext)
    {
        if (_stopping.IsCancellationRequested)
        {
            return new OperationCanceledException("subscription closed"); // 164-168: block until the context ends, no ack
        }

        // Redis messages carry no content type, so the default application/json applies (185-189) and the data
        // must be a CloudEvent; one that is not JSON is an error (268-284), which Redis acknowledges.
        if (ParseObject(msg.Data) is not { } cloudEvent)
        {
            return new JsonException($"error deserializing cloud event in pubsub {_pubsubName} and topic {topic}");
        }

        if (HasExpired(cloudEvent))
        {
            return null; // 308-317
        }

        // 358-381: the runner gets context.Background() (the double stops it when disposed); DROP and 404 end the
        // attempt as a success, anything else that failed is retried by the policy.
        var (_, error) = await _inbound.RunAsync<object>(
            async ct =>
            {
                var attempt = await PostSingleAsync(topic, path, msg.Data, cloudEvent, ct);
                return ((object?)null, attempt is DroppedException ? null : attempt);
            },
            _stopping.Token);
        return error;
    }

    /// <summary>postman/http/http.go:71-174 Deliver.</summary>
    private async Task<Exception?> PostSingleAsync(string topic, string path, byte[] body, JsonObject cloudEvent, CancellationToken cancellationToken)
    {
        using var request = Request(path, body, DaprCloudEvents.CloudEventContentType, TraceParentOf(cloudEvent));
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            _deliveries.Enqueue(new DaprDelivery(topic, path, false, 1, body.Length, null, ex.Message));
            return new InvalidOperationException("error returned from app channel while sending pub/sub event to app", ex);
        }

        using (response)
        {
            var reply = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            var status = (int)response.StatusCode;
            _deliveries.Enqueue(new DaprDelivery(topic, path, false, 1, body.Length, status, Encoding.UTF8.GetString(reply)));
            if (status is >= 200 and <= 299)
            {
                if (!TryDecode(reply, out var root) || root is not { ValueKind: JsonValueKind.Object } obj || Property(obj, "status") is not { } value
                    || value.ValueKind == JsonValueKind.Null)
                {
                    return null; // empty or unparseable body: "skipping status check", success
                }

                return value.ValueKind != JsonValueKind.String ? new InvalidOperationException("status is not a string") : value.GetString() switch
                {
                    "" or "SUCCESS" => null,
                    "DROP" => new DroppedException(),
                    "RETRY" => new InvalidOperationException("RETRY status returned from app while processing pub/sub event"),
                    var other => new InvalidOperationException($"unknown status returned from app while processing pub/sub event, status: {other}"),
                };
            }

            return status == 404
                ? new DroppedException()
                : new InvalidOperationException($"retriable error returned from app while processing pub/sub event, status code returned: {status}");
        }
    }

    /// <summary>bulksubscription.go:73-214 plus bulkresiliency.go:29-81: one flushed batch, entry errors by entry id.</summary>
    private async Task<(Dictionary<string, Exception?>? Responses, Exception? Error)> DeliverBatchAsync(
        string topic, string path, IReadOnlyList<BulkEntry> entries, CancellationToken cancellationToken)
    {
        var responses = new Dictionary<string, Exception?>(StringComparer.Ordinal);
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var items = new List<(BulkEntry Entry, JsonObject CloudEvent)>();
        Exception? err = null;
        foreach (var entry in entries)
        {
            var cloudEvent = ParseObject(entry.Data);
            err = cloudEvent is null ? new JsonException("error deserializing one of the messages in bulk cloud event") : null;
            if (cloudEvent is null)
            {
                responses[entry.EntryId] = err;
                touched.Add(entry.EntryId);
                continue;
            }

            if (HasExpired(cloudEvent))
            {
                responses[entry.EntryId] = null;
                touched.Add(entry.EntryId);
                continue;
            }

            items.Add((entry, cloudEvent));
        }

        if (items.Count > 0)
        {
            var pending = items;
            var (_, invokeError) = await _inbound.RunAsync<Dictionary<string, Exception?>>(
                async ct => await PostBulkAsync(topic, path, pending, ct),
                accumulator: attempt =>
                {
                    foreach (var (id, error) in attempt)
                    {
                        responses[id] = error;
                        touched.Add(id);
                    }

                    // Only what failed is offered again on the next attempt (bulkresiliency.go:45-53).
                    pending = [.. pending.Where(p => responses.GetValueOrDefault(p.Entry.EntryId) is not null)];
                },
                cancellationToken);
            foreach (var (entry, _) in items.Where(i => !touched.Contains(i.Entry.EntryId)))
            {
                responses[entry.EntryId] = invokeError; // 72-78: entries no attempt answered (a timeout) get the error
            }

            if (invokeError is not null)
            {
                err = invokeError;
            }

            if (invokeError is OperationCanceledException)
            {
                return (responses, invokeError);
            }
        }

        // 196-213: with no dead-letter topic the responses go back as they are, with err as last assigned (an entry
        // that is not JSON followed by one that is leaves err nil, and flushMessages then acks every entry).
        return (responses, err);
    }

    /// <summary>postman/http/http.go:178-396 DeliverBulk.</summary>
    private async Task<(Dictionary<string, Exception?>? Result, Exception? Error)> PostBulkAsync(
        string topic, string path, List<(BulkEntry Entry, JsonObject CloudEvent)> items, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, Exception?>(StringComparer.Ordinal);
        if (items.Count == 0)
        {
            return (results, null);
        }

        var entriesJson = new JsonArray();
        foreach (var (entry, cloudEvent) in items)
        {
            // pkg/runtime/pubsub/bulksubscribe_events.go:31-36, fields in struct order, contentType defaulted by
            // bulksubscription.go:172-174.
            entriesJson.Add(new JsonObject
            {
                ["entryId"] = entry.EntryId,
                ["event"] = DaprCloudEvents.Sorted([.. cloudEvent.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value?.DeepClone()))]),
                ["metadata"] = entry.Metadata is null ? null : new JsonObject([.. entry.Metadata.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))]),
                ["contentType"] = DaprCloudEvents.CloudEventContentType,
            });
        }

        // NewBulkSubscribeEnvelope (bulksubscribe_events.go:45-74), marshalled from a map: keys sorted.
        var envelope = DaprCloudEvents.Sorted(
        [
            new("id", Guid.NewGuid().ToString()),
            new("type", "com.dapr.event.sent.bulk"),
            new("topic", topic),
            new("pubsubname", _pubsubName),
            new("metadata", new JsonObject { ["pubsubName"] = _pubsubName }),
            new("entries", entriesJson),
        ]);
        var body = Encoding.UTF8.GetBytes(envelope.ToJsonString());
        Exception? FailAll(Exception? error)
        {
            foreach (var (entry, _) in items)
            {
                results[entry.EntryId] = error;
            }

            return error;
        }

        // 239-260: a span per entry, each started from the last one's context; the request carries the last.
        using var request = Request(path, body, DaprCloudEvents.JsonContentType, TraceParentOf(items[^1].CloudEvent));
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            _deliveries.Enqueue(new DaprDelivery(topic, path, true, items.Count, body.Length, null, ex.Message));
            return (results, FailAll(new InvalidOperationException("error from app channel while sending pub/sub event to app", ex)));
        }

        using (response)
        {
            var reply = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            var status = (int)response.StatusCode;
            _deliveries.Enqueue(new DaprDelivery(topic, path, true, items.Count, body.Length, status, Encoding.UTF8.GetString(reply)));
            if (status is >= 200 and <= 299)
            {
                if (!TryDecode(reply, out var root) || !TryStatuses(root, out var statuses))
                {
                    return (results, FailAll(new InvalidOperationException("failed unmarshalling app response for bulk subscribe")));
                }

                var ids = items.Select(i => i.Entry.EntryId).ToHashSet(StringComparer.Ordinal);
                var anyError = false;
                foreach (var (id, value) in statuses)
                {
                    if (!ids.Contains(id))
                    {
                        continue; // "Invalid entry id received from app"
                    }

                    Exception? error = value switch
                    {
                        "SUCCESS" or "DROP" => null,
                        "" or "RETRY" => new InvalidOperationException($"RETRY required while processing bulk subscribe event for entry id: {id}"),
                        _ => new InvalidOperationException($"unknown status returned from app while processing bulk subscribe event {id}: {value}"),
                    };
                    results[id] = error;
                    anyError |= error is not null;
                }

                foreach (var id in ids.Where(id => !results.ContainsKey(id)))
                {
                    results[id] = new InvalidOperationException($"response not received, RETRY required while processing bulk subscribe event for entry id: {id}");
                    anyError = true;
                }

                return (results, anyError ? new InvalidOperationException("few message(s) have failed during bulk subscribe operation") : null);
            }

            if (status == 404)
            {
                FailAll(null); // every entry dropped
                return (results, null);
            }

            return (results, FailAll(new InvalidOperationException($"Retriable error returned from app while processing bulk pub/sub event, topic: {topic}. status code returned: {status}")));
        }
    }

    private HttpRequestMessage Request(string path, byte[] body, string contentType, string? traceParent)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_app, path.TrimStart('/')))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        // WithCustomHTTPMetadata: the message metadata, pubsubName among it, become request headers.
        request.Headers.TryAddWithoutValidation("pubsubName", _pubsubName);
        if (traceParent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", DaprCloudEvents.ChildTraceParent(traceParent));
        }

        return request;
    }

    private static string? TraceParentOf(JsonObject cloudEvent) =>
        (cloudEvent["traceparent"] ?? cloudEvent["traceid"]) is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static bool HasExpired(JsonObject cloudEvent) =>
        cloudEvent["expiration"] is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at)
        && at < TimeProvider.System.GetUtcNow();

    /// <summary>Go's json.Unmarshal into map[string]any: a JSON object, or an error.</summary>
    private static JsonObject? ParseObject(byte[] data)
    {
        try
        {
            return JsonNode.Parse(data) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>json.NewDecoder(body).Decode: the first JSON value of the body (an empty body is io.EOF).</summary>
    private static bool TryDecode(byte[] body, out JsonElement root)
    {
        root = default;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            if (!JsonElement.TryParseValue(ref reader, out var value) || value is not { } element)
            {
                return false;
            }

            root = element;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>AppBulkResponse: <c>statuses</c> must be an array of {entryId, status} (Go decodes field names case-insensitively).</summary>
    private static bool TryStatuses(JsonElement root, out List<(string Id, string Status)> statuses)
    {
        statuses = [];
        if (root.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (Property(root, "statuses") is not { } array || array.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var id = Property(item, "entryId");
            var status = Property(item, "status");
            if (id is { ValueKind: not (JsonValueKind.String or JsonValueKind.Null) } || status is { ValueKind: not (JsonValueKind.String or JsonValueKind.Null) })
            {
                return false;
            }

            statuses.Add((id?.GetString() ?? string.Empty, status?.GetString() ?? string.Empty));
        }

        return true;
    }

    private static JsonElement? Property(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        JsonElement? found = null;
        foreach (var property in obj.EnumerateObject())
        {
            if (property.NameEquals(name))
            {
                return property.Value;
            }

            if (found is null && property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                found = property.Value;
            }
        }

        return found;
    }

    private static string? Text(JsonElement obj, string name) => Property(obj, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static int? Int(JsonElement obj, string name) => Property(obj, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var i) ? i : null;

    private sealed record BulkEntry(string EntryId, byte[] Data, IReadOnlyDictionary<string, string>? Metadata);

    private sealed class DroppedException() : Exception("message dropped");

    /// <summary>
    /// default_bulksub.go:67-286: the component's handler parks each message (one per component worker, so a batch
    /// never holds more than <c>concurrency</c> Redis messages) until the batch it joined is flushed — when it reaches
    /// maxMessagesCount, or maxAwaitDuration after its first message — and one loop delivers batches one at a time.
    /// </summary>
    private sealed class BulkBatcher
    {
        private readonly DaprSubscriber _owner;
        private readonly string _topic;
        private readonly string _path;
        private readonly int _max;
        private readonly TimeSpan _await;
        private readonly CancellationToken _stopping;
        private readonly Channel<(BulkEntry Entry, TaskCompletionSource<Exception?> Done)> _channel;

        public BulkBatcher(DaprSubscriber owner, string topic, string path, int max, TimeSpan await, CancellationToken stopping)
        {
            _owner = owner;
            _topic = topic;
            _path = path;
            _max = max;
            _await = await;
            _stopping = stopping;
            _channel = Channel.CreateBounded<(BulkEntry, TaskCompletionSource<Exception?>)>(max);
            Loop = Task.Run(RunAsync, CancellationToken.None);
        }

        public Task Loop { get; }

        /// <summary>The handler given to the component: blocks until the message's batch is done (lines 91-122).</summary>
        public async Task<Exception?> HandleAsync(BrokerMessage msg, CancellationToken messageContext)
        {
            var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                await _channel.Writer.WriteAsync((new BulkEntry(Guid.NewGuid().ToString(), msg.Data, msg.Metadata), done), _stopping);
            }
            catch (OperationCanceledException ex)
            {
                return ex;
            }

            return await done.Task;
        }

        private async Task RunAsync()
        {
            var batch = new List<(BulkEntry Entry, TaskCompletionSource<Exception?> Done)>(_max);
            var deadline = long.MaxValue;
            while (true)
            {
                try
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
                    if (batch.Count > 0)
                    {
                        wait.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
                    }

                    var item = await _channel.Reader.ReadAsync(wait.Token);
                    if (batch.Count == 0)
                    {
                        deadline = Environment.TickCount64 + (long)_await.TotalMilliseconds;
                    }

                    batch.Add(item);
                    while (batch.Count < _max && _channel.Reader.TryRead(out var more))
                    {
                        batch.Add(more);
                    }

                    if (batch.Count >= _max)
                    {
                        await FlushAsync(batch);
                    }
                }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    await FlushAsync(batch); // the await window of the batch's first message is over
                }
                catch (OperationCanceledException)
                {
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetResult(new OperationCanceledException("subscription closed"));
                    }

                    return;
                }
            }
        }

        private async Task FlushAsync(List<(BulkEntry Entry, TaskCompletionSource<Exception?> Done)> batch)
        {
            if (batch.Count == 0)
            {
                return;
            }

            var (responses, error) = await _owner.DeliverBatchAsync(_topic, _path, [.. batch.Select(b => b.Entry)], _stopping);

            // flushMessages (255-286): with an error, each entry gets its own response; without one, all succeed.
            foreach (var (entry, done) in batch)
            {
                done.TrySetResult(error is null ? null : responses!.GetValueOrDefault(entry.EntryId));
            }

            batch.Clear();
        }
    }
}

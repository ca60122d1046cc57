using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CloudProxy.StatsD.Protocol;

namespace CloudProxy.StatsD.Ingress;

/// <summary>
/// Reads a <c>/batch</c> body (a JSON array of <c>{type,key,value,sampleRate?,tags?}</c> or newline-separated
/// StatsD lines), validating every entry into a line builder. The caller sends nothing unless
/// <see cref="StatsDBatchResult.Invalid"/> is zero: a batch is all or nothing.
/// </summary>
internal static class StatsDBatchReader
{
    /// <summary>How many bad entries a 400 lists.</summary>
    public const int MaxListedErrors = 10;

    private static ReadOnlySpan<byte> TokenLine => "token="u8;

    /// <summary>
    /// Takes the JWT a beacon carries in the body (it cannot set headers) and leaves the metrics in
    /// <paramref name="body"/>: in text, a first line <c>token=JWT</c> (never a StatsD line: it has no ':');
    /// in JSON, an object <c>{"token":"JWT","metrics":[…]}</c>. Null when there is none. A JSON object without
    /// a <c>metrics</c> array, or a token that is not a string, is <paramref name="error"/>.
    /// </summary>
    public static string? TakeToken(ref ReadOnlySpan<byte> body, bool json, out string? error)
    {
        error = null;
        if (!json)
        {
            var start = body.TrimStart("\r\n"u8);
            if (!start.StartsWith(TokenLine))
            {
                return null;
            }

            var newline = start.IndexOf((byte)'\n');
            var line = newline < 0 ? start : start[..newline];
            body = newline < 0 ? default : start[(newline + 1)..];
            line = line[TokenLine.Length..].TrimEnd("\r \t"u8);
            return line.IsEmpty ? null : Encoding.ASCII.GetString(line);
        }

        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed is not [(byte)'{', ..])
        {
            return null;
        }

        string? token = null;
        var reader = new Utf8JsonReader(trimmed);
        var metrics = -1;
        var end = -1;
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                if (name == "token" && reader.TokenType == JsonTokenType.String)
                {
                    token = reader.GetString();
                }
                else if (name == "token" && reader.TokenType != JsonTokenType.Null)
                {
                    error = "JSON batch object: \"token\" must be a string";
                    return null;
                }
                else if (name == "metrics" && reader.TokenType == JsonTokenType.StartArray)
                {
                    metrics = (int)reader.TokenStartIndex;
                    reader.Skip();
                    end = (int)reader.BytesConsumed;
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "Unexpected data after the JSON batch object";
                return null;
            }
        }
        catch (JsonException ex)
        {
            error = "Body is not valid JSON: " + ex.Message;
            return null;
        }
        catch (InvalidOperationException ex)
        {
            error = "Body holds a JSON string that is not valid text (an unpaired surrogate escape): " + ex.Message;
            return null;
        }

        if (metrics < 0)
        {
            error = "JSON batch object must be {\"token\":\"…\",\"metrics\":[…]} (or send an array)";
            return string.IsNullOrEmpty(token) ? null : token;
        }

        body = trimmed[metrics..end];
        return string.IsNullOrEmpty(token) ? null : token;
    }

    public static StatsDBatchResult ReadText(ReadOnlySpan<byte> body, StatsDKeyPolicy policy, int maxMetrics, StatsDLineBuilder builder)
    {
        var result = new StatsDBatchResult();
        var chars = ArrayPool<char>.Shared.Rent(1024);
        try
        {
            var index = -1;
            while (!body.IsEmpty)
            {
                index++;
                var newline = body.IndexOf((byte)'\n');
                var line = newline < 0 ? body : body[..newline];
                body = newline < 0 ? default : body[(newline + 1)..];
                if (!line.IsEmpty && line[^1] == (byte)'\r')
                {
                    line = line[..^1];
                }

                if (line.IsEmpty)
                {
                    continue;
                }

                if (++result.Entries > maxMetrics)
                {
                    return result.Fail(StatsDRefusal.TooManyMetrics, TooMany(maxMetrics));
                }

                if (chars.Length < line.Length)
                {
                    ArrayPool<char>.Shared.Return(chars);
                    chars = ArrayPool<char>.Shared.Rent(line.Length);
                }

                if (Utf8.ToUtf16(line, chars, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
                {
                    result.AddError(index, new StatsDError(StatsDProblem.MalformedLine, "line is not valid UTF-8"));
                    continue;
                }

                if (!StatsDLineParser.TryAppend(builder, policy, chars.AsSpan(0, length), out var error))
                {
                    result.AddError(index, error);
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }

        return result.Entries == 0 ? result.Fail(StatsDRefusal.EmptyBatch, "Batch holds no metrics") : result;
    }

    public static StatsDBatchResult ReadJson(ReadOnlySpan<byte> body, StatsDKeyPolicy policy, StatsDSampler sampler, int maxMetrics, StatsDLineBuilder builder)
    {
        var result = new StatsDBatchResult();
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return result.Fail(StatsDRefusal.MalformedBody, "JSON batch must be an array like [{\"type\":\"count\",\"key\":\"a.b\",\"value\":1}]");
            }

            var index = -1;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                index++;
                if (++result.Entries > maxMetrics)
                {
                    return result.Fail(StatsDRefusal.TooManyMetrics, TooMany(maxMetrics));
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    result.AddError(index, new StatsDError(StatsDProblem.MalformedLine, "entry must be a JSON object"));
                    continue;
                }

                var entry = ReadEntry(ref reader);
                if (entry.Problem is { } problem)
                {
                    result.AddError(index, problem);
                    continue;
                }

                AppendEntry(entry, index, policy, sampler, builder, ref result);
            }

            if (reader.Read())
            {
                return result.Fail(StatsDRefusal.MalformedBody, "Unexpected data after the JSON array");
            }
        }
        catch (JsonException ex)
        {
            return result.Fail(StatsDRefusal.MalformedBody, "Body is not valid JSON: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on an escaped lone surrogate ("\ud800"): not text a key or tag may hold.
            return result.Fail(StatsDRefusal.MalformedBody, "Body holds a JSON string that is not valid text (an unpaired surrogate escape): " + ex.Message);
        }

        return result.Entries == 0 ? result.Fail(StatsDRefusal.EmptyBatch, "Batch holds no metrics") : result;
    }

    private static void AppendEntry(in JsonEntry entry, int index, StatsDKeyPolicy policy, StatsDSampler sampler, StatsDLineBuilder builder, ref StatsDBatchResult result)
    {
        if (entry.Type is null || !StatsDMetricTypes.TryParseName(entry.Type, out var type))
        {
            result.AddError(index, new StatsDError(StatsDProblem.InvalidType, $"type must be one of {StatsDMetricTypes.NameList} (or {StatsDMetricTypes.SuffixList})"));
            return;
        }

        if (entry.Key is null)
        {
            result.AddError(index, new StatsDError(StatsDProblem.InvalidKey, "key is missing"));
            return;
        }

        double rate = 1;
        if (entry.SampleRate is not null && !StatsDNumber.TryParseSampleRate(entry.SampleRate, out rate))
        {
            result.AddError(index, new StatsDError(StatsDProblem.InvalidSampleRate, "sampleRate must be a number greater than 0 and at most 1"));
            return;
        }

        var info = StatsDMetricTypes.Of(type);
        var relative = info.Shifts && entry.Shift is not null;
        var value = relative ? entry.Shift : entry.Value ?? info.DefaultValue ?? string.Empty;
        var length = builder.Length;
        var lines = builder.LineCount;
        if (!StatsDMetricWriter.TryAppend(builder, policy, entry.Key, type, value, relative, rate, entry.Tags, out var error))
        {
            result.AddError(index, error);
            return;
        }

        if (info.Sampled && !sampler.Keep(rate))
        {
            builder.Truncate(length, lines);
            result.SampledOut++;
        }
    }

    private static JsonEntry ReadEntry(ref Utf8JsonReader reader)
    {
        var entry = default(JsonEntry);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "type":
                    entry.Type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    break;
                case "key":
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        entry.Problem ??= new StatsDError(StatsDProblem.InvalidKey, "key must be a string");
                    }
                    else
                    {
                        entry.Key = reader.GetString();
                    }

                    break;
                case "value":
                    entry.Value = Scalar(ref reader, "value", ref entry.Problem);
                    break;
                case "shift":
                    entry.Shift = Scalar(ref reader, "shift", ref entry.Problem);
                    break;
                case "time":
                    entry.Value ??= Scalar(ref reader, "time", ref entry.Problem);
                    break;
                case "sampleRate":
                    entry.SampleRate = Scalar(ref reader, "sampleRate", ref entry.Problem);
                    break;
                case "tags":
                    entry.Tags = Tags(ref reader, ref entry.Problem);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return entry;
    }

    private static string? Scalar(ref Utf8JsonReader reader, string name, ref StatsDError? problem)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return Encoding.UTF8.GetString(reader.ValueSpan);
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Null:
                return null;
            default:
                reader.Skip();
                problem ??= new StatsDError(StatsDProblem.InvalidValue, $"{name} must be a number or a string");
                return null;
        }
    }

    private static string? Tags(ref Utf8JsonReader reader, ref StatsDError? problem)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.StartArray:
                var builder = new StringBuilder();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var tag = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (tag is null || tag.Contains(','))
                    {
                        reader.Skip();
                        problem ??= new StatsDError(StatsDProblem.InvalidTags, "each entry of tags must be a string without ','");
                        continue;
                    }

                    if (builder.Length > 0)
                    {
                        builder.Append(',');
                    }

                    builder.Append(tag);
                }

                return builder.ToString();
            default:
                reader.Skip();
                problem ??= new StatsDError(StatsDProblem.InvalidTags, "tags must be a string like \"a:b,c\" or an array of strings");
                return null;
        }
    }

    private static string TooMany(int maxMetrics) =>
        $"Batch holds more than {maxMetrics} metrics (CloudProxy:StatsD:Ingress:MaxBatchMetrics)";

    private struct JsonEntry
    {
        public string? Type;
        public string? Key;
        public string? Value;
        public string? Shift;
        public string? SampleRate;
        public string? Tags;
        public StatsDError? Problem;
    }
}

/// <summary>What reading a batch found: entries, the first bad ones, or a whole-body failure.</summary>
internal struct StatsDBatchResult
{
    public int Entries;
    public int Invalid;
    public int SampledOut;
    public List<StatsDBatchError>? Errors;
    public StatsDRefusal? Failure;
    public string? FailureReason;

    public void AddError(int index, StatsDError error)
    {
        Invalid++;
        Errors ??= [];
        if (Errors.Count < StatsDBatchReader.MaxListedErrors)
        {
            Errors.Add(new StatsDBatchError(index, error.Problem, error.Message));
        }
    }

    public StatsDBatchResult Fail(StatsDRefusal refusal, string reason)
    {
        Failure = refusal;
        FailureReason = reason;
        return this;
    }
}

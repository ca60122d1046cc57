using System.Text.Json;

namespace CloudProxy.IntegrationTests.HostileInput;

/// <summary>
/// One corpus file (<c>HostileInput/corpus/&lt;service&gt;.json</c>): the host set-ups its cases run against, the
/// canary that proves "nothing else reached the listener", and the cases. The format is described in
/// HostileInput/README.md.
/// </summary>
public sealed class HostileCorpusFile
{
    public required string Service { get; init; }

    public Dictionary<string, HostileHostProfile> Hosts { get; init; } = [];

    /// <summary>A request that must reach the listener; sent after each case as a barrier.</summary>
    public HostileRequest? Canary { get; init; }

    /// <summary>What the listener shows when the canary arrived (templated like requests).</summary>
    public string? CanarySeen { get; init; }

    public List<HostileCase> Cases { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static string Directory => Path.Combine(HostileRepository.Root, "tests", "CloudProxy.IntegrationTests", "HostileInput", "corpus");

    public static HostileCorpusFile Load(string service)
    {
        var path = Path.Combine(Directory, service + ".json");
        var file = JsonSerializer.Deserialize<HostileCorpusFile>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in file.Cases)
        {
            if (!names.Add(c.Name))
            {
                throw new InvalidDataException($"{path}: two cases are named '{c.Name}'");
            }

            if (!file.Hosts.ContainsKey(c.Host))
            {
                throw new InvalidDataException($"{path}: case '{c.Name}' names host '{c.Host}', which the file does not define");
            }
        }

        return file;
    }
}

/// <summary>A host set-up: its arguments (templated: <c>{upstream}</c>, <c>{udpPort}</c>, <c>{carbonPort}</c>, <c>{backend}</c>, <c>{secret:N}</c>).</summary>
public sealed class HostileHostProfile
{
    public List<string> Args { get; init; } = [];

    /// <summary>Run the host as its own process (<c>HostProcess</c>) instead of in the test process.</summary>
    public bool Process { get; init; }

    /// <summary>Environment of that process, e.g. <c>DOTNET_GCHeapHardLimit</c>.</summary>
    public Dictionary<string, string> Env { get; init; } = [];

    /// <summary>Headers added to the file's canary for this host (e.g. a token).</summary>
    public Dictionary<string, string> CanaryHeaders { get; init; } = [];
}

public sealed class HostileCase
{
    public required string Name { get; init; }

    /// <summary>Which part of the issue it covers (e.g. "12.1"), or "kept" for a hole that was already closed.</summary>
    public string Issue { get; init; } = "kept";

    public string Host { get; init; } = "default";

    public HostileRequest? Request { get; init; }

    public HostileExpect? Expect { get; init; }

    /// <summary>Several requests in order, each with its own expectation (reverse proxy: poison, then look).</summary>
    public List<HostileStep>? Steps { get; init; }

    /// <summary>Many connections that declare a large body and send a few bytes of it, held open during the case.</summary>
    public HostileLoad? Load { get; init; }

    public override string ToString() => Name;
}

public sealed class HostileStep
{
    public required HostileRequest Request { get; init; }

    public required HostileExpect Expect { get; init; }
}

public sealed class HostileRequest
{
    public string Method { get; init; } = "POST";

    public string Path { get; init; } = "/";

    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>A string (text), or an object: <c>base64</c>, or <c>text</c>/<c>generator</c> with <c>encoding</c> and a cut.</summary>
    public JsonElement? Body { get; init; }

    /// <summary>Bytes sent as they are on a fresh connection (smuggling probes); the answer's status line is read.</summary>
    public string? Raw { get; init; }

    /// <summary>Send the same request this many times (bombs), each expected as below.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>How many of the repeats run at once.</summary>
    public int Parallel { get; init; } = 1;
}

public sealed class HostileExpect
{
    public int Status { get; init; }

    /// <summary>A substring of the answer (body or X-Sentry-Error), case-insensitive.</summary>
    public string? Reason { get; init; }

    /// <summary>The service's refusal counter with this reason label must have risen by every repeat.</summary>
    public string? Counted { get; init; }

    /// <summary>Any other counter that must have risen by at least one.</summary>
    public HostileMetric? Metric { get; init; }

    /// <summary>Text that must reach the listener (an accepted request); null = nothing may reach it.</summary>
    public string? Delivered { get; init; }

    public Dictionary<string, string> ResponseHeaders { get; init; } = [];

    public string? BodyNotContains { get; init; }

    public string? BodyContains { get; init; }

    /// <summary>Reverse proxy: how many requests reached the back end during this step.</summary>
    public int? BackendHits { get; init; }

    /// <summary>Reverse proxy: the raw request target the back end received.</summary>
    public string? BackendTarget { get; init; }

    /// <summary>Reverse proxy: headers the back end must not have received.</summary>
    public List<string> BackendHeadersAbsent { get; init; } = [];

    /// <summary>After the case the host must still answer /healthz and the canary (memory cases).</summary>
    public bool Survives { get; init; } = true;
}

public sealed class HostileMetric
{
    public required string Name { get; init; }

    public Dictionary<string, string> Labels { get; init; } = [];
}

public sealed class HostileLoad
{
    public int Connections { get; init; } = 64;

    public long DeclaredBytes { get; init; } = 100_000_000;

    public int SendBytes { get; init; } = 20;

    public string Path { get; init; } = "/";

    public Dictionary<string, string> Headers { get; init; } = [];
}

/// <summary>Finds the repository root (the folder with CloudProxy.sln) above the test binaries.</summary>
internal static class HostileRepository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CloudProxy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (CloudProxy.sln) above " + AppContext.BaseDirectory);
    }
}

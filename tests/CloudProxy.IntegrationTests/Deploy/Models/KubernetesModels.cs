using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy.Models;

/// <summary>
/// Built-in Kubernetes objects checked with the API's own typed models, from the official C# client (NuGet
/// KubernetesClient, generated from the Kubernetes OpenAPI spec): each document is decoded strictly (an unknown
/// field is an error), encoded again as the API server would receive it (JSON), and compared with the document
/// as kubectl reads it (YAML to JSON): a field the model drops, a value whose JSON type changes (a quoted port) or
/// that does not survive as written is a difference.
/// </summary>
internal static class KubernetesModels
{
    /// <summary>metav1.ObjectMeta inside a custom resource, checked with the client's V1ObjectMeta.</summary>
    public static readonly Shape ObjectMeta = new ModelShape<V1ObjectMeta>();

    /// <summary>Problems of one rendered built-in object; empty when it fits its model and survives the round trip.</summary>
    public static IReadOnlyList<string> Check(YamlMappingNode document)
    {
        object decoded;
        try
        {
            decoded = KubernetesYaml.LoadAllFromString(ToYaml(document), strict: true).Single();
        }
        catch (YamlException e)
        {
            return [$"decoding with the Kubernetes model failed: {Innermost(e).Message}"];
        }

        return Compare(ToJson(document), JsonNode.Parse(KubernetesJson.Serialize(decoded)), string.Empty);
    }

    /// <summary>The document as kubectl turns YAML into JSON: plain scalars resolved (8825 a number, "8825" a string).</summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode scalar => Yaml.Resolve(scalar) switch
        {
            ScalarKind.Null => null,
            ScalarKind.Bool => JsonValue.Create(scalar.Value is "y" or "Y" or "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON"),
            ScalarKind.Int when long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) => JsonValue.Create(i),
            ScalarKind.Float => JsonValue.Create(double.Parse(scalar.Value!, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(scalar.Value),
        },
        _ => null,
    };

    public static string ToYaml(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static List<string> Compare(JsonNode? written, JsonNode? decoded, string path)
    {
        var problems = new List<string>();
        switch (written)
        {
            case null when decoded is null:
                break;
            case JsonObject a when decoded is JsonObject b:
                foreach (var (key, value) in a)
                {
                    if (value is not null && !b.ContainsKey(key))
                    {
                        problems.Add($"{path}.{key}: dropped by the model (not a field of this type here)");
                    }
                    else
                    {
                        problems.AddRange(Compare(value, b[key], $"{path}.{key}"));
                    }
                }

                problems.AddRange(b.Where(kv => kv.Value is not null && !a.ContainsKey(kv.Key)).Select(kv => $"{path}.{kv.Key}: added by the model"));
                break;
            case JsonArray a when decoded is JsonArray b && a.Count == b.Count:
                for (var i = 0; i < a.Count; i++)
                {
                    problems.AddRange(Compare(a[i], b[i], $"{path}[{i}]"));
                }

                break;
            default:
                if (!JsonNode.DeepEquals(written, decoded))
                {
                    problems.Add($"{path}: written {written?.ToJsonString() ?? "null"}, the model reads {decoded?.ToJsonString() ?? "null"}");
                }

                break;
        }

        return problems;
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner && e.Message.StartsWith("Exception during deserialization", StringComparison.Ordinal) ? Innermost(inner) : e;

    /// <summary>A field whose type is a Kubernetes model (ObjectMeta in a custom resource).</summary>
    private sealed record ModelShape<T> : Shape
    {
        public override IEnumerable<string> Check(YamlNode node, string path)
        {
            T value;
            try
            {
                value = KubernetesYaml.Deserialize<T>(ToYaml(node), strict: true);
            }
            catch (YamlException e)
            {
                return [$"{path}: {typeof(T).Name}: {Innermost(e).Message}"];
            }

            return Compare(ToJson(node), JsonNode.Parse(KubernetesJson.Serialize(value!)), path);
        }
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CloudProxy.IntegrationTests.Deploy.Models;

/// <summary>What a YAML scalar means once decoded into JSON, as kubectl and the API server read it (sigs.k8s.io/yaml,
/// YAML 1.1 rules for plain scalars: <c>yes</c>/<c>on</c> are booleans; quoted scalars are always strings).</summary>
internal enum ScalarKind
{
    Null,
    Bool,
    Int,
    Float,
    String,
}

/// <summary>
/// The fields of an API type, as its Go struct's json tags declare them: a rendered object is checked against it
/// field by field, so a misspelt or misplaced field (one the type does not have at that level) is reported with
/// its path, as is a value of the wrong JSON type.
/// </summary>
internal abstract record Shape
{
    /// <summary>Problems of <paramref name="node"/> against this shape; empty when it fits.</summary>
    public abstract IEnumerable<string> Check(YamlNode node, string path);

    protected static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "an object",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"{Yaml.Resolve(s).ToString().ToLowerInvariant()} '{s.Value}'",
        _ => node.NodeType.ToString(),
    };
}

/// <summary>A struct: only these fields; <paramref name="Required"/> must be present.</summary>
internal sealed record ObjectShape(string TypeName, IReadOnlyDictionary<string, Shape> Fields, IReadOnlySet<string>? Required = null) : Shape
{
    public override IEnumerable<string> Check(YamlNode node, string path)
    {
        if (node is YamlScalarNode s && Yaml.Resolve(s) == ScalarKind.Null)
        {
            yield break;
        }

        if (node is not YamlMappingNode map)
        {
            yield return $"{path}: expected an object ({TypeName}), found {Describe(node)}";
            yield break;
        }

        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (!Fields.TryGetValue(name, out var field))
            {
                yield return $"{path}.{name}: {TypeName} has no field '{name}'";
                continue;
            }

            foreach (var problem in field.Check(value, $"{path}.{name}"))
            {
                yield return problem;
            }
        }

        foreach (var name in Required ?? new HashSet<string>())
        {
            if (!map.Children.ContainsKey(new YamlScalarNode(name)))
            {
                yield return $"{path}: {TypeName} requires '{name}'";
            }
        }
    }
}

/// <summary>A Go slice.</summary>
internal sealed record ListShape(Shape Item) : Shape
{
    public override IEnumerable<string> Check(YamlNode node, string path)
    {
        if (node is YamlScalarNode s && Yaml.Resolve(s) == ScalarKind.Null)
        {
            return [];
        }

        return node is YamlSequenceNode list
            ? list.Children.SelectMany((item, i) => Item.Check(item, $"{path}[{i}]"))
            : [$"{path}: expected a list, found {Describe(node)}"];
    }
}

/// <summary>A Go map with string keys.</summary>
internal sealed record MapShape(Shape Value) : Shape
{
    public override IEnumerable<string> Check(YamlNode node, string path)
    {
        if (node is YamlScalarNode s && Yaml.Resolve(s) == ScalarKind.Null)
        {
            return [];
        }

        return node is YamlMappingNode map
            ? map.Children.SelectMany(kv => Value.Check(kv.Value, $"{path}.{((YamlScalarNode)kv.Key).Value}"))
            : [$"{path}: expected an object (map), found {Describe(node)}"];
    }
}

/// <summary>A scalar of one of <paramref name="Kinds"/> (null is allowed: Go's zero value, an omitted field), optionally
/// one of <paramref name="Enum"/> or matching <paramref name="Pattern"/>.</summary>
internal sealed record ScalarShape(IReadOnlySet<ScalarKind> Kinds, IReadOnlyList<string>? Enum = null, string? Pattern = null) : Shape
{
    public static readonly ScalarShape String = new(new HashSet<ScalarKind> { ScalarKind.String });
    public static readonly ScalarShape Bool = new(new HashSet<ScalarKind> { ScalarKind.Bool });
    public static readonly ScalarShape Int = new(new HashSet<ScalarKind> { ScalarKind.Int });
    public static readonly ScalarShape Number = new(new HashSet<ScalarKind> { ScalarKind.Int, ScalarKind.Float });
    public static readonly ScalarShape IntOrString = new(new HashSet<ScalarKind> { ScalarKind.Int, ScalarKind.String });

    public override IEnumerable<string> Check(YamlNode node, string path)
    {
        if (node is not YamlScalarNode scalar)
        {
            yield return $"{path}: expected {string.Join(" or ", Kinds).ToLowerInvariant()}, found {Describe(node)}";
            yield break;
        }

        var kind = Yaml.Resolve(scalar);
        if (kind == ScalarKind.Null)
        {
            yield break;
        }

        if (!Kinds.Contains(kind))
        {
            yield return $"{path}: expected {string.Join(" or ", Kinds).ToLowerInvariant()}, found {Describe(node)}";
        }
        else if (Enum is not null && !Enum.Contains(scalar.Value))
        {
            yield return $"{path}: '{scalar.Value}' is not one of {string.Join(", ", Enum)}";
        }
        else if (Pattern is not null && kind == ScalarKind.String && !Regex.IsMatch(scalar.Value!, Pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            yield return $"{path}: '{scalar.Value}' does not match {Pattern}";
        }
    }
}

/// <summary>Schemaless: anything (Go's <c>apiextensionsv1.JSON</c>, <c>x-kubernetes-preserve-unknown-fields</c>).</summary>
internal sealed record AnyShape : Shape
{
    public static readonly AnyShape Instance = new();

    public override IEnumerable<string> Check(YamlNode node, string path) => [];
}

/// <summary>A field whose type is built later (a recursive type, or one defined after its user).</summary>
internal sealed record LazyShape(Func<Shape> Resolve) : Shape
{
    public override IEnumerable<string> Check(YamlNode node, string path) => Resolve().Check(node, path);
}

internal static class Yaml
{
    private static readonly HashSet<string> Nulls = new(StringComparer.Ordinal) { "", "~", "null", "Null", "NULL" };

    // YAML 1.1 booleans, which sigs.k8s.io/yaml (go-yaml v2) decodes as such.
    private static readonly HashSet<string> Bools = new(StringComparer.Ordinal)
    {
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    };

    public static ScalarKind Resolve(YamlScalarNode scalar)
    {
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return ScalarKind.String;
        }

        var value = scalar.Value ?? string.Empty;
        if (Nulls.Contains(value))
        {
            return ScalarKind.Null;
        }

        if (Bools.Contains(value))
        {
            return ScalarKind.Bool;
        }

        if (Regex.IsMatch(value, "^[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0[0-7_]+)$", RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            return ScalarKind.Int;
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || value is ".inf" or "-.inf" or ".nan"
            ? ScalarKind.Float
            : ScalarKind.String;
    }

    /// <summary>Builds an <see cref="ObjectShape"/> from (json name, shape) pairs.</summary>
    public static ObjectShape Struct(string typeName, params (string Json, Shape Shape)[] fields) =>
        new(typeName, fields.ToDictionary(f => f.Json, f => f.Shape, StringComparer.Ordinal));

    public static ObjectShape Struct(string typeName, string[] required, params (string Json, Shape Shape)[] fields) =>
        new(typeName, fields.ToDictionary(f => f.Json, f => f.Shape, StringComparer.Ordinal), new HashSet<string>(required, StringComparer.Ordinal));
}

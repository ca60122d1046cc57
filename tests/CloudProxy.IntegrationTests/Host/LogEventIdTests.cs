using System.Reflection;
using CloudProxy.Core;
using CloudProxy.Host;
using Microsoft.Extensions.Logging;

namespace CloudProxy.IntegrationTests.Host;

/// <summary>
/// Every <c>[LoggerMessage]</c> of every module the host loads, read from the compiled assemblies: two
/// events with one id make a log filter or an alert on that id catch the wrong thing.
/// </summary>
public sealed class LogEventIdTests
{
    private static List<(string Assembly, string Method, int Id)> Events()
    {
        var host = typeof(CloudProxyApp).Assembly;
        var assemblies = host.GetReferencedAssemblies()
            .Where(a => a.Name!.StartsWith("CloudProxy.", StringComparison.Ordinal))
            .Select(Assembly.Load)
            .Append(host)
            .DistinctBy(a => a.GetName().Name)
            .ToList();
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        return
        [
            .. from assembly in assemblies
               from type in assembly.GetTypes()
               from method in type.GetMethods(all)
               let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
               where attribute is not null
               select (assembly.GetName().Name!, $"{type.FullName}.{method.Name}", attribute.EventId),
        ];
    }

    [Fact]
    public void Every_module_is_read()
    {
        var modules = Events().Select(e => e.Assembly).Distinct().ToList();
        foreach (var module in new[] { "CloudProxy.Core", "CloudProxy.Transport.Dapr", "CloudProxy.StatsD", "CloudProxy.Sentry", "CloudProxy.Graphite", "CloudProxy.ReverseProxy" })
        {
            Assert.Contains(module, modules);
        }
    }

    [Fact]
    public void No_two_log_events_share_an_id()
    {
        var shared = Events().GroupBy(e => e.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}")
            .ToList();
        Assert.True(shared.Count == 0, "event ids used twice:\n" + string.Join("\n", shared));
    }

    [Fact]
    public void Every_log_event_has_an_id_inside_its_modules_block()
    {
        var wrong = new List<string>();
        foreach (var (assembly, method, id) in Events())
        {
            if (!LogEvents.Ranges.TryGetValue(assembly, out var range))
            {
                wrong.Add($"{method}: {assembly} has no block in LogEvents.Ranges");
            }
            else if (id < range.First || id > range.Last)
            {
                wrong.Add($"{method}: id {id} is outside {assembly}'s block {range.First}–{range.Last}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_module_blocks_do_not_overlap()
    {
        var blocks = LogEvents.Ranges.OrderBy(r => r.Value.First).ToList();
        for (var i = 1; i < blocks.Count; i++)
        {
            Assert.True(blocks[i - 1].Value.Last < blocks[i].Value.First, $"{blocks[i - 1].Key} and {blocks[i].Key} overlap");
        }
    }
}

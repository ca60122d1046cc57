using System.Text;

namespace CloudProxy.Graphite.Tests.Protocol;

/// <summary>Deterministic metric names shaped like real ones (dotted paths, digits, dashes, some UTF-8).</summary>
internal static class PlacementNames
{
    public static string[] Make(int count, bool ascii)
    {
        var random = new Random(4);
        string[] words = ["servers", "web", "db", "cpu", "load", "memory", "free", "disk", "io", "requests", "p99", "count", "errors", "eu-west-1", "host_07"];
        var names = new string[count];
        for (var i = 0; i < count; i++)
        {
            var text = new StringBuilder();
            var parts = random.Next(2, 7);
            for (var p = 0; p < parts; p++)
            {
                if (p > 0)
                {
                    text.Append('.');
                }

                text.Append(words[random.Next(words.Length)]);
                if (random.Next(3) == 0)
                {
                    text.Append(random.Next(1000));
                }
            }

            if (!ascii && i % 50 == 0)
            {
                text.Append(".température");
            }

            names[i] = text.Append('.').Append(i).ToString();
        }

        return names;
    }
}

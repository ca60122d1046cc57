namespace CloudProxy.ReverseProxy.Backpressure;

/// <summary>
/// A syntactic check of PromQL done without a server: brackets and quotes balanced and not crossed, no empty
/// expression, nothing after a dangling operator. It catches the usual typos; the full check is Prometheus's
/// own parser, asked at start-up when the server answers (see <see cref="ProxyQueryMonitor"/>).
/// </summary>
internal static class ProxyPromQlSyntax
{
    public static string? Problem(string query)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            return "is empty";
        }

        var stack = new Stack<char>();
        for (var i = 0; i < query.Length; i++)
        {
            var c = query[i];
            switch (c)
            {
                case '"' or '\'' or '`':
                    var end = ClosingQuote(query, i);
                    if (end < 0)
                    {
                        return $"has an unterminated string starting at position {i}";
                    }

                    i = end;
                    break;
                case '#':
                    // A comment runs to the end of the line.
                    while (i < query.Length && query[i] != '\n')
                    {
                        i++;
                    }

                    break;
                case '(' or '[' or '{':
                    stack.Push(c);
                    break;
                case ')' or ']' or '}':
                    var open = c switch { ')' => '(', ']' => '[', _ => '{' };
                    if (stack.Count == 0 || stack.Pop() != open)
                    {
                        return $"has an unmatched '{c}' at position {i}";
                    }

                    break;
            }
        }

        if (stack.Count > 0)
        {
            return $"has an unclosed '{stack.Peek()}'";
        }

        var trimmed = query.TrimEnd();
        return trimmed[^1] is '+' or '-' or '*' or '/' or '%' or '^' or '=' or '<' or '>' or ','
            ? $"ends with the operator '{trimmed[^1]}'"
            : null;
    }

    private static int ClosingQuote(string text, int start)
    {
        var quote = text[start];
        for (var i = start + 1; i < text.Length; i++)
        {
            if (text[i] == '\\' && quote != '`')
            {
                i++;
            }
            else if (text[i] == quote)
            {
                return i;
            }
        }

        return -1;
    }
}

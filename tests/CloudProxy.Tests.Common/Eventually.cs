namespace CloudProxy.Tests.Common;

/// <summary>Polls a condition until it holds or a bounded deadline passes; never a bare sleep.</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(15)).TotalMilliseconds;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }
    }

    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout);
}

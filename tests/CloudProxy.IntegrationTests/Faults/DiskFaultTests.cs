using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using CloudProxy.Core.Metrics;
using CloudProxy.Tests.Common;
using Xunit.Abstractions;

namespace CloudProxy.IntegrationTests.Faults;

/// <summary>
/// Disk faults are refusals, not crashes (issue 11.6): a disk that fills up, a spool at its bound, a log file
/// damaged while the host was down. The host is its own process, with its data directory where the test puts it.
/// </summary>
[Collection(FaultSuite.Name)]
public sealed class DiskFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_full_disk_is_answered_503_with_Retry_After_and_no_crash_and_what_was_accepted_is_delivered()
    {
        await using var disk = await SmallDisk.MountAsync(3 * 1024 * 1024, output);
        var port = Loopback.FreeTcpPort();

        // The bound is far above the disk: it is the disk that fills, with ENOSPC.
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Args =
            {
                "--services", "statsd-ingress,statsd-forwarder", "--statsd-port", port.ToString(CultureInfo.InvariantCulture),
                "--CloudProxy:StatsD:Forwarder:Protocol=Tcp", "--data-dir", disk.Path, "--spool-path", Path.Combine(disk.Path, "spool"),
                "--spool-max-bytes", disk.Mounted ? $"{64L * 1024 * 1024}" : $"{1024 * 1024}",
            },
        });

        var accepted = new List<string>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 400 && refused is null; i++)
        {
            var prefix = $"full.{new string('x', 60)}.b{i}";
            using var body = new StringContent(string.Concat(Enumerable.Range(0, 100).Select(j => $"{prefix}.m{j}:1|c\n")), Encoding.UTF8, "text/plain");
            var response = await host.Client.PostAsync(new Uri(host.BaseAddress, "/batch"), body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                accepted.AddRange(Enumerable.Range(0, 100).Select(j => $"{prefix}.m{j}"));
                response.Dispose();
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        }

        var reason = disk.Mounted ? "disk_error" : "spool_full";
        Assert.True(await host.MetricAsync(CoreMetricNames.Refused, ("reason", reason)) >= 1, $"no refusal counted with reason {reason}");
        Assert.True(await host.IsHealthyAsync(), "the host did not survive the full disk");
        using (var ready = await host.Client.GetAsync(new Uri(host.BaseAddress, "/readyz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        // No busy loop while refusing: a second of more requests costs the process little CPU and few log lines.
        var cpuBefore = CpuSeconds(host.Id);
        var linesBefore = host.OutputLines.Count;
        for (var i = 0; i < 50; i++)
        {
            using var body = new StringContent("full.more:1|c\n", Encoding.UTF8, "text/plain");
            using var _ = await host.Client.PostAsync(new Uri(host.BaseAddress, "/batch"), body);
        }

        await Task.Delay(1000);
        output.WriteLine($"disk {(disk.Mounted ? "tmpfs 3 MiB" : "tiny bound 1 MiB")}: {accepted.Count} lines accepted; refusing: {CpuSeconds(host.Id) - cpuBefore:F2} CPU-s and {host.OutputLines.Count - linesBefore} log lines for 50 requests + 1 s");
        Assert.True(host.OutputLines.Count - linesBefore <= 5, $"refusing wrote {host.OutputLines.Count - linesBefore} log lines:\n{host.Tail(10)}");

        var onDisk = Directory.EnumerateFiles(Path.Combine(disk.Path, "spool"), "*.seg", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(disk.Mounted || onDisk <= 1.1 * 1024 * 1024, $"{onDisk} bytes of log files for a 1 MiB bound");

        // The daemon comes: everything accepted is delivered, and new data is taken again.
        await using var statsd = new TcpLineSink(port);
        Assert.True(await Eventually.TrueAsync(() => accepted.All(new HashSet<string>(statsd.Lines.Select(l => l.Split(':')[0])).Contains), TimeSpan.FromSeconds(60)),
            $"{accepted.Count - statsd.Lines.Count} accepted lines missing");
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            using var body = new StringContent("full.after:1|c\n", Encoding.UTF8, "text/plain");
            using var response = await host.Client.PostAsync(new Uri(host.BaseAddress, "/batch"), body);
            return response.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30)), "new data still refused after the drain");
    }

    [Fact]
    public async Task A_damaged_log_file_is_moved_aside_the_rest_is_salvaged_and_the_host_starts()
    {
        var port = Loopback.FreeTcpPort();
        // Left for the OS's temporary-file cleanup: the live host still has it open when the test ends.
        var directory = Directory.CreateTempSubdirectory("cloudproxy-corrupt-").FullName;
        string[] args = ["--services", "statsd-ingress,statsd-forwarder", "--statsd-port", port.ToString(CultureInfo.InvariantCulture), "--CloudProxy:StatsD:Forwarder:Protocol=Tcp"];
        var options = () =>
        {
            var o = new HostProcessOptions { WorkingDirectory = directory };
            foreach (var arg in args)
            {
                o.Args.Add(arg);
            }

            return o;
        };

        // The daemon is down: 50 batches wait in the log; then the process dies.
        await using (var first = await HostProcess.StartAsync(options()))
        {
            for (var i = 0; i < 50; i++)
            {
                using var body = new StringContent(string.Concat(Enumerable.Range(0, 20).Select(j => $"corrupt.b{i}.m{j}:1|c\n")), Encoding.UTF8, "text/plain");
                using var response = await first.Client.PostAsync(new Uri(first.BaseAddress, "/batch"), body);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await first.KillAsync();
        }

        // A flipped run of bytes in the middle of the segment: batch 25's record.
        var segment = Directory.EnumerateFiles(Path.Combine(directory, "spool", "outbox"), "*.seg", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var at = bytes.AsSpan().IndexOf("corrupt.b25.m3"u8);
        Assert.True(at > 0, "batch 25 not found in the segment");
        for (var k = 0; k < 8; k++)
        {
            bytes[at + k] ^= 0x5A;
        }

        await File.WriteAllBytesAsync(segment, bytes);

        await using var statsd = new TcpLineSink(port);
        await using var second = await HostProcess.StartAsync(options());
        output.WriteLine(string.Join('\n', second.OutputLines.Where(l => l.Contains("damaged", StringComparison.Ordinal))));
        Assert.Contains(second.OutputLines, l => l.Contains("is damaged", StringComparison.Ordinal) && l.Contains("--spool-path", StringComparison.Ordinal));
        Assert.Equal(1, await second.MetricAsync(CoreMetricNames.SpoolDamagedSegments));
        Assert.Equal(49, await second.MetricAsync(CoreMetricNames.SpoolSalvaged));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(directory, "spool", "outbox"), "*.corrupt-*", SearchOption.AllDirectories));

        // Every batch but the damaged one arrives.
        var expected = Enumerable.Range(0, 50).Where(i => i != 25).SelectMany(i => Enumerable.Range(0, 20).Select(j => $"corrupt.b{i}.m{j}")).ToList();
        Assert.True(await Eventually.TrueAsync(() => expected.All(new HashSet<string>(statsd.Lines.Select(l => l.Split(':')[0])).Contains), TimeSpan.FromSeconds(30)),
            $"{expected.Count - statsd.Lines.Count} salvaged lines missing");
        Assert.DoesNotContain(statsd.Lines, l => l.StartsWith("corrupt.b25.", StringComparison.Ordinal));
    }

    private static double CpuSeconds(int pid)
    {
        // utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>A tmpfs of a few MiB where mounting is allowed (root here), else a plain folder and a tiny spool bound.</summary>
    private sealed class SmallDisk : IAsyncDisposable
    {
        private SmallDisk(string path, bool mounted)
        {
            Path = path;
            Mounted = mounted;
        }

        public string Path { get; }

        public bool Mounted { get; }

        public static async Task<SmallDisk> MountAsync(long bytes, ITestOutputHelper output)
        {
            var path = Directory.CreateTempSubdirectory("cloudproxy-disk-").FullName;
            var mounted = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
            if (!mounted)
            {
                output.WriteLine("mount -t tmpfs is not allowed here: a 1 MiB spool bound stands in for the full disk");
            }

            return new SmallDisk(path, mounted);
        }

        public async ValueTask DisposeAsync()
        {
            if (Mounted)
            {
                await RunAsync("umount", "-l", Path);
            }

            Directory.Delete(Path, recursive: true);
        }

        private static async Task<bool> RunAsync(string file, params string[] args)
        {
            var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            try
            {
                return (await Container.ProcessResult.RunAsync(start, TimeSpan.FromSeconds(10), $"{file} is missing")).ExitCode == 0;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }
}

using System.Globalization;
using Spectrum.Camera.Native.Sandbox;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera sandbox-selftest: for operators and the tests, installs exactly the sidecar's sandbox (no_new_privs + the seccomp
/// allowlist serve installs), then makes system calls the sidecar must not make and ones it must be able to make,
/// and prints each result. Exit 0 when every forbidden call was refused and every allowed one worked, 1 otherwise.
/// --try CALL makes one call that the filter answers by killing the process (SIGSYS), so the caller can see that.
/// --no-filter runs the same calls without a sandbox, to show the calls are meaningful (none gives EPERM there).
/// </summary>
internal static class SandboxSelftestCommand
{
    private const string Help = """
        Usage: spectrum-camera sandbox-selftest [--no-filter] [--try execve|ptrace|x32] [--list]

        Installs the sidecar's sandbox (as 'serve' does) and checks that forbidden system calls are refused (EPERM,
        or ENOSYS for clone3) and that the calls the sidecar needs still work. Prints one line per call.
          --list        Print the filter's rules and size, install nothing.
          --no-filter   Make the same calls without the sandbox (for comparison).
          --try CALL    Make one call the filter kills the process for: execve (/bin/true), ptrace
                        (PTRACE_TRACEME) or x32 (getpid through the x32 ABI). The process should die of SIGSYS.
        Exit status: 0 when every check passed, 1 when one failed (or a --try call returned), 2 on bad usage.
        """;

    private enum Expect
    {
        Allowed,
        Refused,
        NoSuchCall,
    }

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--try"], ["--no-filter", "--list"]);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        var attempt = cl.Get("--try");
        if (attempt is not (null or "execve" or "ptrace" or "x32"))
        {
            throw new UsageException($"--try must be execve, ptrace or x32, not '{attempt}'");
        }

        if (cl.Has("--list"))
        {
            var filter = SidecarSandbox.BuildFilter();
            foreach (var rule in filter.Rules)
            {
                Console.Out.WriteLine(rule.ToString());
            }

            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"default: errno {filter.DefaultErrno}; {filter.AllowedCount} system calls allowed, {filter.InstructionCount} BPF instructions"));
            return 0;
        }

        var filtered = !cl.Has("--no-filter");
        var threadsBefore = Directory.GetDirectories("/proc/self/task").Select(Path.GetFileName).OfType<string>().ToList();
        if (filtered && !SidecarSandbox.Apply(required: true))
        {
            return 1;
        }

        if (attempt is not null)
        {
            Console.Out.WriteLine($"trying {attempt}: the sandbox should kill this process with SIGSYS");
            Console.Out.Flush();
            var errno = attempt switch
            {
                "execve" => SandboxProbe.Execve("/bin/true"),
                "ptrace" => SandboxProbe.PtraceTraceme(),
                _ => SandboxProbe.X32Getpid(),
            };
            Console.Out.WriteLine($"{attempt} returned {Name(errno)}: NOT killed");
            return 1;
        }

        var scratch = Path.Combine(Path.GetTempPath(), $"spectrum-sandbox-selftest-{Environment.ProcessId}");
        using var status = File.OpenHandle("/proc/self/status");
        var pid = Environment.ProcessId;
        var checks = new (string Call, Expect Expect, Func<int> Probe)[]
        {
            ("socket(AF_INET)", Expect.Refused, () => SandboxProbe.Socket(SandboxProbe.Family.Inet)),
            ("socket(AF_INET6)", Expect.Refused, () => SandboxProbe.Socket(SandboxProbe.Family.Inet6)),
            ("socket(AF_NETLINK)", Expect.Refused, () => SandboxProbe.Socket(SandboxProbe.Family.Netlink)),
            ("openat(O_WRONLY|O_CREAT)", Expect.Refused, () => SandboxProbe.CreateFile(scratch)),
            ("ioctl(TCGETS)", Expect.Refused, () => SandboxProbe.IoctlTcgets((int)status.DangerousGetHandle())),
            ("clone(a process)", Expect.Refused, SandboxProbe.CloneProcess),
            ("clone3", Expect.NoSuchCall, SandboxProbe.Clone3),
            ("memfd_create", Expect.Refused, SandboxProbe.MemfdCreate),
            ("kill(self, 0)", Expect.Refused, SandboxProbe.KillSelf),
            ("tgkill(1, 1, 0)", Expect.Refused, () => SandboxProbe.Tgkill(1, 1)),
            ("socket(AF_UNIX)", Expect.Allowed, () => SandboxProbe.Socket(SandboxProbe.Family.Unix)),
            ("MMAP buffer (sealable memfd, ftruncate)", Expect.Allowed, SandboxProbe.BufferMemfd),
            ("openat(/proc/self/status, O_RDONLY)", Expect.Allowed, () => SandboxProbe.OpenForReading("/proc/self/status")),
            ("tgkill(self, self, 0)", Expect.Allowed, () => SandboxProbe.Tgkill(pid, SandboxProbe.CurrentThreadId())),
            ("new thread (clone CLONE_THREAD)", Expect.Allowed, StartAndJoinThreads),
            ("garbage collections on 4 threads", Expect.Allowed, CollectGarbage),
        };

        var failed = 0;
        foreach (var (call, expect, probe) in checks)
        {
            var errno = probe();
            var ok = expect switch
            {
                Expect.Allowed => errno == 0,
                Expect.Refused => errno == SandboxProbe.Refused,
                _ => errno == SandboxProbe.NoSuchCall,
            };
            if (filtered && !ok)
            {
                failed++;
            }

            var verdict = !filtered ? "" : ok ? "  pass" : "  FAIL";
            Console.Out.WriteLine($"{call,-40} {Name(errno),-8} expected {(expect == Expect.Allowed ? "ok" : Name(expect == Expect.Refused ? SandboxProbe.Refused : SandboxProbe.NoSuchCall))}{verdict}");
        }

        if (filtered)
        {
            // The process and every thread that existed before the filter (TSYNC) must show it.
            var lines = new List<(string What, string Value)> { ("process NoNewPrivs", Field("/proc/self/status", "NoNewPrivs")) };
            lines.AddRange(threadsBefore
                .Where(tid => Directory.Exists($"/proc/self/task/{tid}"))
                .Select(tid => ($"thread {tid} Seccomp", Field($"/proc/self/task/{tid}/status", "Seccomp"))));
            foreach (var (what, value) in lines)
            {
                var ok = value == (what.EndsWith("NoNewPrivs", StringComparison.Ordinal) ? "1" : "2");
                failed += ok ? 0 : 1;
                Console.Out.WriteLine($"{what,-40} {value,-8} {(ok ? "  pass" : "  FAIL")}");
            }

            Console.Out.WriteLine(failed == 0
                ? $"sandbox self-test passed: {checks.Length} calls and {lines.Count} status checks"
                : $"sandbox self-test FAILED: {failed} checks");
        }

        return failed == 0 ? 0 : 1;
    }

    private static int StartAndJoinThreads()
    {
        try
        {
            var ran = 0;
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() => Interlocked.Increment(ref ran))).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            return ran == 4 ? 0 : -1;
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            Console.Out.WriteLine($"  thread start failed: {e.Message}");
            return SandboxProbe.Refused;
        }
    }

    // Allocation and full blocking collections while other threads run: GC suspension (membarrier, signals to
    // running threads), heap growth and decommit (mmap/munmap/madvise) all happen under the filter.
    private static int CollectGarbage()
    {
        long sum = 0;
        var workers = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            for (var n = 0; n < 200; n++)
            {
                var block = new byte[(n % 16 + 1) * 65536];
                block[^1] = (byte)n;
                Interlocked.Add(ref sum, block[^1]);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        for (var n = 0; n < 5; n++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        workers.ForEach(t => t.Join());
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return sum > 0 ? 0 : -1;
    }

    private static string Field(string path, string name) =>
        File.ReadLines(path).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..].Trim() ?? "?";

    private static string Name(int errno) => SandboxProbe.ErrnoName(errno);
}

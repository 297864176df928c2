using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Spectrum.Camera.Bench.Cpu;

/// <summary>
/// The real processes the CPU suites measure (sidecars, the camera service) and their CPU time: started with
/// <c>dotnet DLL ...</c>, their stderr forwarded with a label, and read from /proc at both ends of a window.
/// </summary>
public static class ProcessCpu
{
    /// <summary>CPU time of one process at one instant: utime + stime in clock ticks, and per-thread schedstat in ns.</summary>
    public sealed record Sample(long Ticks, Dictionary<int, long> ThreadNanoseconds);

    /// <summary>What a process used between two samples, as % of one core.</summary>
    /// <param name="Percent">From utime + stime (USER_HZ resolution).</param>
    /// <param name="SchedstatPercent">From the threads' schedstat run times (nanoseconds), a cross-check.</param>
    public sealed record Usage(double Percent, double SchedstatPercent);

    public static Sample Read(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        return new Sample(CpuTicks(process.Id), ThreadsCpuNanoseconds(process.Id));
    }

    public static Usage Between(Sample before, Sample after, double seconds)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var ticksPerSecond = Native.BenchNative.ClockTicksPerSecond();
        return new Usage(100.0 * (after.Ticks - before.Ticks) / ticksPerSecond / seconds,
            100.0 * SumCommon(before.ThreadNanoseconds, after.ThreadNanoseconds) / 1e9 / seconds);
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c>; its stderr lines go to ours, prefixed with <paramref name="label"/>.</summary>
    public static Process StartDotnet(string dll, string label, params string[] arguments) => StartDotnet(dll, label, null, arguments);

    /// <summary>The same, and each stderr line is also added to <paramref name="stderr"/> (for a process's own log lines).</summary>
    public static Process StartDotnet(string dll, string label, ConcurrentQueue<string>? stderr, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[{label}] {e.Data}");
                stderr?.Enqueue(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    /// <summary>Waits up to 30 s for <paramref name="process"/> to create <paramref name="path"/>.</summary>
    public static void WaitForSocket(Process process, string path)
    {
        ArgumentNullException.ThrowIfNull(process);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{Path.GetFileName(process.StartInfo.ArgumentList[0])} did not create {path}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Waits up to 10 s for <paramref name="process"/> to exit by itself, then ends it.</summary>
    public static void Reap(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            process.Kill();
            process.WaitForExit();
        }

        process.Dispose();
    }

    /// <summary>utime + stime of the whole process (fields 14 and 15 of /proc/PID/stat, after the command name).</summary>
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>Run time in nanoseconds of each thread of the process, by thread id (/proc/PID/task/TID/schedstat).</summary>
    private static Dictionary<int, long> ThreadsCpuNanoseconds(int pid)
    {
        var threads = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] =
                    long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return threads;
    }

    /// <summary>Run time gained over the window by threads alive at both ends, plus all of any thread born in it.</summary>
    private static long SumCommon(Dictionary<int, long> before, Dictionary<int, long> after) =>
        after.Sum(t => t.Value - before.GetValueOrDefault(t.Key));
}

using System.Diagnostics;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.Cpu;

/// <summary>
/// CPU per sidecar: N real <c>spectrum-camera serve</c> processes, each streaming to its own test-frontend VMM at
/// the device's own pacing (30 fps), and the CPU time each process used over the window, read from
/// /proc/PID/stat (utime + stime, all its threads) at the start and end of the window.
/// </summary>
public static class SidecarCpu
{
    /// <param name="TargetPercent">The target, or null for a diagnosis.</param>
    /// <param name="Streaming">False: the guest connects and opens the device but never streams.</param>
    public sealed record Scenario(string Key, string Source, FrameFormat Format, double? TargetPercent, bool Streaming = true);

    /// <param name="PercentPerSidecar">utime + stime from /proc/PID/stat (USER_HZ resolution).</param>
    /// <param name="SchedstatPercentPerSidecar">The sum of /proc/PID/task/*/schedstat run times (nanoseconds).</param>
    public sealed record Result(Scenario Scenario, int Sidecars, double WindowSeconds, double[] PercentPerSidecar, double[] SchedstatPercentPerSidecar, double[] FramesPerSecond)
    {
        public double MeanPercent => PercentPerSidecar.Average();

        public double MaxPercent => PercentPerSidecar.Max();
    }

    public static IReadOnlyList<Scenario> Scenarios { get; } =
    [
        new("test_pattern_nv12_720p30", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1280, 720), 2.0),
        new("test_pattern_nv12_1080p30", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1920, 1080), 2.0),
        new("test_pattern_yuyv_1080p30", "test-pattern", new FrameFormat(PixelFormats.Yuyv, 1920, 1080), 2.0),
        new("black_nv12_1080p30", "black", new FrameFormat(PixelFormats.Nv12, 1920, 1080), 0.5),
        new("idle_connected", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1920, 1080), null, Streaming: false),
    ];

    public static Result Measure(string sidecarDll, Scenario scenario, int sidecars, TimeSpan warmup, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var directory = Directory.CreateTempSubdirectory("spectrum-bench-cpu-").FullName;
        var processes = new List<Process>();
        var streams = new List<GuestCaptureStream>();
        try
        {
            for (var i = 0; i < sidecars; i++)
            {
                var socket = Path.Combine(directory, $"cam{i}.sock");
                processes.Add(ProcessCpu.StartDotnet(sidecarDll, $"bench{i}",
                    "serve", "--socket-path", socket, "--vm", $"bench{i}", "--source", scenario.Source, "--log-level", "warning"));
                ProcessCpu.WaitForSocket(processes[^1], socket);
                streams.Add(new GuestCaptureStream(socket, scenario.Format, scenario.Streaming));
            }

            Thread.Sleep(warmup);
            var before = processes.Select(ProcessCpu.Read).ToArray();
            var framesBefore = streams.Select(s => s.Frames).ToArray();
            var clock = Stopwatch.StartNew();
            Thread.Sleep(window);
            var after = processes.Select(ProcessCpu.Read).ToArray();
            var framesAfter = streams.Select(s => s.Frames).ToArray();
            var seconds = clock.Elapsed.TotalSeconds;

            var usage = before.Zip(after, (b, a) => ProcessCpu.Between(b, a, seconds)).ToArray();
            var fps = framesBefore.Zip(framesAfter, (b, a) => (a - b) / seconds).ToArray();
            foreach (var s in streams)
            {
                s.Stop();
            }

            return new Result(scenario, sidecars, seconds, [.. usage.Select(u => u.Percent)], [.. usage.Select(u => u.SchedstatPercent)], fps);
        }
        finally
        {
            foreach (var s in streams)
            {
                s.Dispose();
            }

            // The sidecar exits 0 by itself once its VMM has gone; one that does not is ended.
            processes.ForEach(ProcessCpu.Reap);
            Directory.Delete(directory, recursive: true);
        }
    }
}

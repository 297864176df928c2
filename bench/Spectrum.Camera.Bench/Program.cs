using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Spectrum.Camera.Bench;
using Spectrum.Camera.Bench.Cpu;
using Spectrum.Camera.Bench.Device;
using Spectrum.Camera.Bench.Imaging;
using Spectrum.Camera.Bench.Native;
using Spectrum.Camera.Bench.Reporting;
using Spectrum.Camera.Bench.WholeSystem;
using Metric = Spectrum.Camera.Bench.Reporting.Metric;

// spectrum-camera-bench [--quick] [--only frames,alloc,convert,latency,cpu,system,libc] [--out DIR] [--sidecar DLL]
//                       [--cpu-sidecars N] [--cpu-seconds S] [--system-vms N] [--system-scenarios mjpeg,vms,camera-vm]
// Runs the performance suites (docs/performance.md) and writes DIR/summary.json (default artifacts/bench). Exit 1 if any suite failed or
// BenchmarkDotNet produced no results; bench/run.sh is the usual way in.
var quick = args.Contains("--quick");
if (args.Contains(ConversionSuite.PairedOnlyOption))
{
    // The conversion suite's child process (run with AVX-512 turned off): paired ratios only, on stdout.
    return ConversionSuite.PrintPaired(quick);
}

if (args.Contains(ReplayCameraServiceHost.Option))
{
    // The whole-system suite's camera service process, with the replayed MJPEG camera.
    return ReplayCameraServiceHost.Run(args);
}

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var suites = Option("--only", "frames,alloc,convert,latency,cpu,system").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
var output = Path.GetFullPath(Option("--out", Path.Combine("artifacts", "bench")));
var sidecar = Path.GetFullPath(Option("--sidecar", Path.Combine("artifacts", "build", "bin", "Spectrum.Camera.Cli", "release", "spectrum-camera.dll")));
var cpuSidecars = int.Parse(Option("--cpu-sidecars", quick ? "1" : "2"), CultureInfo.InvariantCulture);
var cpuSeconds = double.Parse(Option("--cpu-seconds", quick ? "3" : "30"), CultureInfo.InvariantCulture);
var systemVms = int.Parse(Option("--system-vms", quick ? "2" : "8"), CultureInfo.InvariantCulture);
var systemScenarios = Option("--system-scenarios", "mjpeg,vms,camera-vm").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
if (systemScenarios.Except(["mjpeg", "vms", "camera-vm"]).FirstOrDefault() is { } unknownScenario)
{
    Console.Error.WriteLine($"spectrum-camera-bench: unknown whole-system scenario '{unknownScenario}' (mjpeg, vms, camera-vm)");
    return 2;
}

var command = Environment.GetEnvironmentVariable("SPECTRUM_BENCH_COMMAND") ?? "spectrum-camera-bench " + string.Join(' ', args);

BenchSettings.Quick = quick;
BenchSettings.ArtifactsPath = Path.Combine(output, "bdn");
Directory.CreateDirectory(output);
var metrics = new List<Metric>();
var failures = new List<string>();
var machine = Machine.Describe();
Console.WriteLine($"Spectrum Camera performance suite ({(quick ? "quick" : "full")}): {string.Join(", ", suites)}");
Console.WriteLine($"{machine["cpu"]}, {machine["cores"]} cores, {machine["dotnet"]}, load {machine["load_at_start"]}");

var memcpyNs = new Dictionary<string, double>();
if (suites.Contains("frames"))
{
    Suite("frame delivery and allocation per frame", () =>
    {
        var timer = BenchNative.OneNanosecondTimerLatencyNs(quick ? 50 : 500);
        metrics.Add(new("frame.timer_1ns_expiry_latency_ns", timer, "ns", null, null,
            "diagnosis: a timerfd armed for 1 ns becomes readable this late (hypervisor timer path); the benchmarks " +
            (BenchNative.CanSetTicks ? "fire the device's timer with TFD_IOC_SET_TICKS instead" : "cannot avoid it (no TFD_IOC_SET_TICKS)")));
        var summary = Bdn.Run<FrameDeliveryBenchmarks>(BenchSettings.Frames(FrameDeliveryBenchmarks.FramesPerIteration));
        foreach (var frameCase in FrameCase.All)
        {
            var key = frameCase.Key;
            var memcpy = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.Memcpy), frameCase);
            memcpyNs[key] = memcpy;
            var baseline = new Baseline($"memcpy of {frameCase.Format.SizeImage} B into memfd guest RAM", memcpy, "ns");
            var frame = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.Frame), frameCase);
            var cycle = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.StreamingCycle), frameCase);
            var pattern = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.FrameTestPattern), frameCase);
            metrics.Add(new($"frame.{key}.memcpy_ns", memcpy, "ns", null, null, "the baseline: plain copy of the frame's bytes"));
            metrics.Add(new($"frame.{key}.device_path_ns", frame, "ns", null, baseline, "timer tick -> guest pages -> EVT_DQBUF -> used ring -> call eventfd -> guest"));
            var scattered = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.MemcpyScattered), frameCase);
            metrics.Add(new($"frame.{key}.ratio_vs_memcpy", frame / memcpy, "x", null, baseline,
                frameCase.HasTarget ? "BenchmarkDotNet means; the _paired figure carries the target" : "diagnosis: a small frame shows the fixed cost of the path"));
            var (paired, oneCpu, cpu) = Paired.Frames(frameCase, quick ? 6 : 100);
            var pairedBaseline = new Baseline("memcpy, interleaved with the frames", paired.BaselineNs, "ns");
            metrics.Add(new($"frame.{key}.ratio_vs_memcpy_paired", paired.Ratio, "x", frameCase.HasTarget ? "<= 1.3" : null, pairedBaseline,
                $"median of {paired.Rounds} rounds of {FrameDeliveryBenchmarks.FramesPerIteration} memcpys / {FrameDeliveryBenchmarks.FramesPerIteration} frames, interleaved"));
            metrics.Add(new($"frame.{key}.device_path_paired_median_ns", paired.CandidateNs, "ns", null, pairedBaseline,
                "median frame time in the interleaved rounds (frames back to back)"));
            metrics.Add(new($"frame.{key}.first_frame_after_idle_ns", paired.FirstCandidateNs, "ns", null, pairedBaseline,
                "diagnosis: the first frame of each round, after the device thread idled through the memcpys (vCPU wake-up)"));
            metrics.Add(new($"frame.{key}.device_thread_cpu_ratio_vs_memcpy_paired", cpu.Ratio, "x", frameCase.HasCpuTarget ? "<= 1.1" : null,
                new Baseline("memcpy (wall), interleaved with the frames", cpu.BaselineNs, "ns"),
                $"device loop thread CPU per frame (schedstat) {cpu.CandidateNs / 1000:F1} µs; median of {cpu.Rounds} rounds of " +
                $"{FrameDeliveryBenchmarks.FramesPerIteration} memcpys / {FrameDeliveryBenchmarks.FramesPerIteration} frames, interleaved"));
            metrics.Add(new($"frame.{key}.ratio_vs_memcpy_paired_one_cpu", oneCpu.Ratio, "x", null,
                new Baseline("memcpy, interleaved with the frames, same CPU", oneCpu.BaselineNs, "ns"),
                $"diagnosis: the same pairs with the guest thread and the device loop pinned to one CPU (no cross-vCPU wake-up); frame {oneCpu.CandidateNs / 1000:F1} µs"));
            metrics.Add(new($"frame.{key}.memcpy_scattered_ratio_vs_memcpy", scattered / memcpy, "x", null, baseline,
                "the same copy into the guest buffer's pages, one copy per 4 KiB SG entry, done by the benchmark thread"));
            var nonTemporal = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.MemcpyNonTemporal), frameCase);
            var scatteredNonTemporal = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.MemcpyScatteredNonTemporal), frameCase);
            metrics.Add(new($"frame.{key}.memcpy_nontemporal_ratio_vs_memcpy", nonTemporal / memcpy, "x", null, baseline,
                "diagnosis: the plain copy with streaming (non-temporal) stores"));
            metrics.Add(new($"frame.{key}.memcpy_scattered_nontemporal_ratio_vs_memcpy", scatteredNonTemporal / memcpy, "x", null, baseline,
                "diagnosis: the scattered copy with streaming stores (what the device could do)"));
            var routine = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.DeviceCopyRoutine), frameCase);
            metrics.Add(new($"frame.{key}.device_copy_routine_ratio_vs_memcpy", routine / memcpy, "x", null, baseline,
                "diagnosis: the device's GuestRangeWriter copying the frame into the buffer's merged ranges, alone, on the benchmark thread"));
            metrics.Add(new($"frame.{key}.ratio_vs_memcpy_scattered", frame / scattered, "x", null,
                new Baseline("memcpy into the same scattered guest pages", scattered, "ns"), "what the device adds over copying into those pages"));
            metrics.Add(new($"frame.{key}.streaming_cycle_ratio_vs_memcpy", cycle / memcpy, "x", null, baseline, "frame + the guest's QBUF of the buffer"));
            metrics.Add(new($"frame.{key}.test_pattern_ratio_vs_memcpy", pattern / memcpy, "x", null, baseline, "test pattern rendered in the tick"));
            var black = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.FrameBlack), frameCase);
            var fill = Bdn.Mean(summary, nameof(FrameDeliveryBenchmarks.FillScatteredBlack), frameCase);
            metrics.Add(new($"frame.{key}.black_ns", black, "ns", null, baseline, "black source: the frame path"));
            metrics.Add(new($"frame.{key}.black_fill_scattered_ns", fill, "ns", null, new Baseline("black source frame path", black, "ns"),
                "diagnosis: the black frame written with Span.Fill into the same pages, on the benchmark thread"));
            metrics.Add(new($"alloc.{key}.bytes_per_frame", Bdn.AllocatedPerOperation(summary, nameof(FrameDeliveryBenchmarks.Frame), frameCase), "B", "<= 0", null, "MemoryDiagnoser, frame path, whole process"));
            metrics.Add(new($"alloc.{key}.bytes_per_streaming_cycle", Bdn.AllocatedPerOperation(summary, nameof(FrameDeliveryBenchmarks.StreamingCycle), frameCase), "B", "<= 0", null, "MemoryDiagnoser, frame + QBUF, whole process"));
        }
    });
}

if (suites.Contains("alloc"))
{
    Suite("steady-state allocation and device-thread CPU per frame", () =>
    {
        foreach (var frameCase in FrameCase.All)
        {
            var r = SteadyStateProbe.Measure(frameCase, quick ? 100 : 300, quick ? 300 : 3000);
            var key = frameCase.Key;
            metrics.Add(new($"alloc.{key}.device_thread_bytes_per_frame", r.DeviceThreadBytesPerFrame, "B", "<= 0", null, $"GC.GetAllocatedBytesForCurrentThread on the device loop over {r.Frames} frame+QBUF cycles"));
            metrics.Add(new($"alloc.{key}.process_bytes_per_frame", r.ProcessBytesPerFrame, "B", "<= 0", null, $"GC.GetTotalAllocatedBytes over the same {r.Frames} cycles"));
            var baseline = memcpyNs.TryGetValue(key, out var m) ? new Baseline("memcpy (frames suite)", m, "ns") : null;
            metrics.Add(new($"frame.{key}.device_thread_cpu_ns", r.DeviceThreadCpuNsPerFrame, "ns", null, baseline, "device loop thread CPU per frame (schedstat)"));
            metrics.Add(new($"frame.{key}.device_thread_cpu_per_cycle_ns", r.DeviceThreadCpuNsPerCycle, "ns", null, baseline, "device loop thread CPU per frame + QBUF cycle"));
            if (baseline is not null)
            {
                metrics.Add(new($"frame.{key}.device_thread_cpu_ratio_vs_memcpy", r.DeviceThreadCpuNsPerFrame / baseline.Value, "x", null, baseline,
                    "device thread CPU per frame / memcpy, two moments apart (the frames suite's _paired figure carries the target)"));
            }
        }
    });
}

if (suites.Contains("convert"))
{
    Suite("conversions and scaling against libswscale, MJPEG against libjpeg-turbo", () =>
    {
        ConversionSuite.Measure(metrics, quick);

        var mjpeg = Bdn.Run<MjpegBenchmarks>(BenchSettings.Throughput());
        foreach (var subsampling in MjpegBenchmarks.Cases)
        {
            var key = MjpegBenchmarks.KeyOf(subsampling);
            var ours = Bdn.Mean(mjpeg, nameof(MjpegBenchmarks.Spectrum), subsampling);
            var pipeline = Bdn.Mean(mjpeg, nameof(MjpegBenchmarks.TurboJpegThenSwscale), subsampling);
            var decode = Bdn.Mean(mjpeg, nameof(MjpegBenchmarks.TurboJpegDecodeOnly), subsampling);
            var difference = MjpegBenchmarks.MaxDifference.GetValueOrDefault(key, -1);
            var pipelineBaseline = new Baseline("tjDecompressToYUV2 + sws_scale to nv12", pipeline, "ns");
            metrics.Add(new($"convert.{key}.spectrum_ns", ours, "ns", null, pipelineBaseline, $"max |ours - libjpeg-turbo+swscale| = {difference}"));
            metrics.Add(new($"convert.{key}.speedup_vs_turbojpeg_swscale", pipeline / ours, "x", null, pipelineBaseline, "BenchmarkDotNet means"));
            var (vsPipeline, vsDecode) = Paired.Mjpeg(subsampling, quick ? 20 : 150);
            metrics.Add(new($"convert.{key}.speedup_vs_turbojpeg_swscale_paired", 1 / vsPipeline.Ratio, "x", null,
                new Baseline("tjDecompressToYUV2 + sws_scale, interleaved", vsPipeline.BaselineNs, "ns"), $"median of {vsPipeline.Rounds} interleaved pairs"));
            metrics.Add(new($"convert.{key}.ratio_vs_turbojpeg_decode_only_paired", vsDecode.Ratio, "x", null,
                new Baseline("tjDecompressToYUV2 alone, interleaved", vsDecode.BaselineNs, "ns"), $"median of {vsDecode.Rounds} interleaved pairs"));
            metrics.Add(new($"convert.{key}.ratio_vs_turbojpeg_decode_only", ours / decode, "x", null, new Baseline("tjDecompressToYUV2 alone", decode, "ns"), "our whole path / libjpeg-turbo's decode alone"));
        }
    });
}

if (suites.Contains("latency"))
{
    Suite("command latency", () =>
    {
        var summary = Bdn.Run<CommandLatencyBenchmarks>(BenchSettings.Latency());
        foreach (var (method, key) in new[] { (nameof(CommandLatencyBenchmarks.GFmt), "g_fmt"), (nameof(CommandLatencyBenchmarks.QbufNv12At1080p), "qbuf_nv12_1080p") })
        {
            var stats = Bdn.Statistics(summary, method, null);
            metrics.Add(new($"latency.{key}.median_ns", stats.Median, "ns", null, null, $"{stats.N} single round trips through the test frontend"));
            metrics.Add(new($"latency.{key}.p99_ns", stats.Percentiles.Percentile(99), "ns", null, null));
        }
    });
}

if (suites.Contains("cpu"))
{
    Suite("CPU per sidecar", () =>
    {
        if (!File.Exists(sidecar))
        {
            throw new FileNotFoundException($"the sidecar is not built: {sidecar} (bench/run.sh builds it)");
        }

        foreach (var scenario in SidecarCpu.Scenarios)
        {
            var r = SidecarCpu.Measure(sidecar, scenario, cpuSidecars, TimeSpan.FromSeconds(quick ? 1.5 : 5), TimeSpan.FromSeconds(cpuSeconds));
            var each = string.Join(", ", r.PercentPerSidecar.Select(p => p.ToString("F2", CultureInfo.InvariantCulture)));
            var fps = string.Join(", ", r.FramesPerSecond.Select(f => f.ToString("F1", CultureInfo.InvariantCulture)));
            var sched = string.Join(", ", r.SchedstatPercentPerSidecar.Select(p => p.ToString("F2", CultureInfo.InvariantCulture)));
            Console.WriteLine($"  {scenario.Key}: {r.Sidecars} sidecars, {r.WindowSeconds:F1} s: % of a core each {each} (schedstat {sched}); fps {fps}");
            var target = scenario.TargetPercent is { } t ? "<= " + t.ToString(CultureInfo.InvariantCulture) : null;
            metrics.Add(new($"cpu.{scenario.Key}.percent_of_core", r.MeanPercent, "%", target, null,
                $"mean of {r.Sidecars} sidecars ({each}) over {r.WindowSeconds:F0} s at {fps} fps; /proc/PID/stat utime+stime"));
            metrics.Add(new($"cpu.{scenario.Key}.percent_of_core_schedstat", r.SchedstatPercentPerSidecar.Average(), "%", null, null,
                $"the same window from /proc/PID/task/*/schedstat (ns resolution): {sched}"));
        }
    });
}

if (suites.Contains("system"))
{
    Suite("whole system: camera service + sidecars + guests", () =>
    {
        if (!File.Exists(sidecar))
        {
            throw new FileNotFoundException($"the sidecar is not built: {sidecar} (bench/run.sh builds it)");
        }

        var jpegDirectory = Directory.CreateTempSubdirectory("spectrum-bench-jpeg-").FullName;
        try
        {
            var warmup = TimeSpan.FromSeconds(quick ? 1.5 : 5);
            var window = TimeSpan.FromSeconds(cpuSeconds);
            if (systemScenarios.Contains("mjpeg"))
            {
                const int width = ReplayCameraServiceHost.Width, height = ReplayCameraServiceHost.Height;
                TestFrames.WriteJpegSequence(jpegDirectory, WholeSystemCpu.ReplayFrames, width, height, WholeSystemCpu.Fps);
                var jpegs = Directory.GetFiles(jpegDirectory, "*.jpg").Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
                Console.WriteLine($"  {jpegs.Length} JPEG frames of {width}x{height}, {jpegs.Average(j => j.Length) / 1024:F0} KiB on average");

                SystemMetrics.Add(metrics, WholeSystemCpu.Measure(sidecar, WholeSystemCpu.Mjpeg, jpegDirectory, warmup, window),
                    $"1080p30 MJPEG camera (ffmpeg's JPEGs of testsrc2, {jpegs.Average(j => j.Length) / 1024:F0} KiB each, replayed)");
                var passes = quick ? 1 : 5;
                var key = $"system.{WholeSystemCpu.Mjpeg.Key}";
                var decode = MjpegCost.DecodeAlone(jpegs, width, height, WholeSystemCpu.Fps, passes);
                metrics.Add(new($"{key}.jpeg_decode_alone_percent_of_core", decode.PercentOfCore, "%", null,
                    new Baseline("libjpeg-turbo decode of one frame (thread CPU)", decode.NanosecondsPerFrame, "ns"),
                    $"the decode alone at {WholeSystemCpu.Fps} fps, measured apart on one thread, frames back to back ({jpegs.Length} frames x {passes})"));
                var formats = WholeSystemCpu.Mjpeg.Consumers.Select(c => c.Format).ToArray();
                foreach (var consumer in WholeSystemCpu.Mjpeg.Consumers)
                {
                    var convert = MjpegCost.Convert(jpegs, width, height, [consumer.Format], WholeSystemCpu.Fps, passes);
                    metrics.Add(new($"{key}.{consumer.Vm}.service_conversion_percent_of_core", convert.PercentOfCore, "%", null,
                        new Baseline("the service's FrameConverter for this format, one frame (thread CPU)", convert.NanosecondsPerFrame, "ns"),
                        $"decode + crop/scale + convert into {consumer.Format} at {WholeSystemCpu.Fps} fps, measured apart, frames back to back"));
                }

                var both = MjpegCost.Convert(jpegs, width, height, formats, WholeSystemCpu.Fps, passes);
                metrics.Add(new($"{key}.service_conversions_percent_of_core", both.PercentOfCore, "%", null,
                    new Baseline("the decode alone", decode.PercentOfCore, "%"),
                    $"both formats' conversions per frame, back to back: what the service's converters cost, each decoding the frame itself"));
                metrics.Add(new($"{key}.service_conversions_decoding_once_percent_of_core", both.PercentOfCore - ((formats.Length - 1) * decode.PercentOfCore), "%", null,
                    new Baseline("the decode alone", decode.PercentOfCore, "%"),
                    $"diagnosis: the same with the frame decoded once for all {formats.Length} formats (the conversions minus {formats.Length - 1} decode)"));
                var pacedPasses = quick ? 1 : 3;
                var decodePaced = MjpegCost.DecodeAlone(jpegs, width, height, WholeSystemCpu.Fps, pacedPasses, paced: true);
                metrics.Add(new($"{key}.jpeg_decode_alone_paced_percent_of_core", decodePaced.PercentOfCore, "%", null,
                    new Baseline("libjpeg-turbo decode of one frame, one frame per camera period (thread CPU)", decodePaced.NanosecondsPerFrame, "ns"),
                    $"the decode alone, one frame every 1/{WholeSystemCpu.Fps} s as a camera delivers them ({jpegs.Length} frames x {pacedPasses})"));
                var bothPaced = MjpegCost.Convert(jpegs, width, height, formats, WholeSystemCpu.Fps, pacedPasses, paced: true);
                metrics.Add(new($"{key}.service_conversions_paced_percent_of_core", bothPaced.PercentOfCore, "%", null,
                    new Baseline("the same, back to back", both.PercentOfCore, "%"),
                    $"both formats' conversions, one frame every 1/{WholeSystemCpu.Fps} s as the service gets them: the service's conversion work " +
                    "with caches as cold as there; the service process's CPU minus this is its own overhead (timer, hub, rings, protocol)"));
            }

            if (systemScenarios.Contains("vms"))
            {
                SystemMetrics.Add(metrics, WholeSystemCpu.Measure(sidecar, WholeSystemCpu.EightVms(systemVms), jpegDirectory, warmup, window),
                    "one test-pattern camera (the shipped camera-service process)");
            }

            if (systemScenarios.Contains("camera-vm"))
            {
                SystemMetrics.Add(metrics, WholeSystemCpu.Measure(sidecar, WholeSystemCpu.CameraVm, jpegDirectory, warmup, window),
                    $"a camera VM ({WholeSystemCpu.CameraVmName}) writing numbered test-pattern frames into its output device at 30 fps -> " +
                    "its producer sidecar -> the camera service (the shipped process)");
            }
        }
        finally
        {
            Directory.Delete(jpegDirectory, recursive: true);
        }
    });
}

// Not in the default run: the comparison behind the README's package table (Tmds.LibC's cost on the hot calls).
if (suites.Contains("libc"))
{
    Suite("libc bindings: Tmds.LibC against [LibraryImport]", () =>
    {
        foreach (var pair in LibcBindingPairs.Measure(quick ? 2000 : 20000))
        {
            var r = pair.Result;
            metrics.Add(new($"libc.{pair.Key}.ratio_paired", r.Ratio, "x", null, new Baseline($"{pair.Baseline}, interleaved", r.BaselineNs, "ns"),
                $"{pair.Candidate}: {r.CandidateNs:F0} ns; median of {r.Rounds} interleaved rounds of 100 calls"));
        }
    });
}

machine["load_at_end"] = File.ReadAllText("/proc/loadavg").Trim();
var summaryPath = Path.Combine(output, "summary.json");
SummaryWriter.Write(summaryPath, machine, command, quick, metrics);
Console.WriteLine();
Console.WriteLine(SummaryWriter.Table(metrics));
Console.WriteLine($"wrote {summaryPath} ({metrics.Count} metrics); BenchmarkDotNet tables in {BenchSettings.ArtifactsPath}/results");
foreach (var failure in failures)
{
    Console.Error.WriteLine($"FAILED: {failure}");
}

return failures.Count == 0 && metrics.Count > 0 ? 0 : 1;

void Suite(string name, Action run)
{
    Console.WriteLine();
    Console.WriteLine($"== {name}");
    var clock = Stopwatch.StartNew();
    try
    {
        run();
    }
#pragma warning disable CA1031 // One suite's failure is reported and the others still run.
    catch (Exception e)
#pragma warning restore CA1031
    {
        failures.Add($"{name}: {e.Message}");
        Console.Error.WriteLine(e);
    }

    Console.WriteLine($"   ({clock.Elapsed.TotalSeconds:F0} s)");
}

/// <summary>Running a BenchmarkDotNet suite and reading its results; a suite with no results is an error.</summary>
internal static class Bdn
{
    public static Summary Run<T>(IConfig config)
    {
        var summary = BenchmarkRunner.Run<T>(config);
        MarkdownExporter.Console.ExportToLog(summary, ConsoleLogger.Default);
        var missing = summary.Reports.Where(r => r.ResultStatistics is null).Select(r => r.BenchmarkCase.DisplayInfo).ToList();
        if (summary.HasCriticalValidationErrors || summary.Reports.Length == 0 || missing.Count > 0 || summary.BenchmarksCases.Length != summary.Reports.Length)
        {
            var errors = string.Join("; ", summary.ValidationErrors.Select(e => e.Message));
            throw new InvalidOperationException($"BenchmarkDotNet produced no results for {typeof(T).Name} " +
                $"({summary.Reports.Length} reports, missing: {string.Join(", ", missing)}; {errors}); see {summary.LogFilePath}");
        }

        return summary;
    }

    public static BenchmarkDotNet.Mathematics.Statistics Statistics(Summary summary, string method, object? parameter)
    {
        var report = summary.Reports.Single(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method &&
            (parameter is null || r.BenchmarkCase.Parameters.Items.Any(p => Equals(p.Value, parameter))));
        return report.ResultStatistics!;
    }

    public static double Mean(Summary summary, string method, object? parameter) => Statistics(summary, method, parameter).Mean;

    public static double AllocatedPerOperation(Summary summary, string method, object? parameter)
    {
        var report = summary.Reports.Single(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method &&
            (parameter is null || r.BenchmarkCase.Parameters.Items.Any(p => Equals(p.Value, parameter))));
        return Convert.ToDouble(report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase), CultureInfo.InvariantCulture);
    }
}

/// <summary>The interleaved cross-checks, run on the benchmark classes' own setups outside BenchmarkDotNet.</summary>
internal static class Paired
{
    /// <summary>
    /// The paired frame ratio as the threads run, with the guest and the device loop on one CPU (diagnosis), and the
    /// device loop's CPU per frame against the memcpy.
    /// </summary>
    public static (PairedRatio.Result Free, PairedRatio.Result OneCpu, PairedRatio.Result DeviceCpu) Frames(FrameCase frameCase, int rounds)
    {
        var b = new FrameDeliveryBenchmarks { Case = frameCase };
        b.SetUpPrepared();
        try
        {
            return (b.PairedFrameVersusMemcpy(rounds), b.PairedFrameVersusMemcpyOnOneCpu(rounds), b.PairedDeviceCpuVersusMemcpy(rounds));
        }
        finally
        {
            b.CleanUp();
        }
    }

    /// <summary>Ratios ours / (libjpeg-turbo + swscale) and ours / libjpeg-turbo's decode alone.</summary>
    public static (PairedRatio.Result VersusPipeline, PairedRatio.Result VersusDecode) Mjpeg(string subsampling, int rounds)
    {
        var b = new MjpegBenchmarks { Case = subsampling };
        b.SetUp();
        try
        {
            return (PairedRatio.Measure(() => b.TurboJpegThenSwscale(), () => b.Spectrum(), rounds),
                PairedRatio.Measure(b.TurboJpegDecodeOnly, () => b.Spectrum(), rounds));
        }
        finally
        {
            b.CleanUp();
        }
    }
}

/// <summary>The machine and libraries the figures come from, for summary.json.</summary>
internal static class Machine
{
    public static Dictionary<string, string> Describe()
    {
        var cpuinfo = File.ReadAllLines("/proc/cpuinfo");
        var model = cpuinfo.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memory = File.ReadAllLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(':', 2)[1].Trim();
        var os = File.ReadAllLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"') ?? "unknown";
        return new Dictionary<string, string>
        {
            ["cpu"] = model,
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["memory"] = memory,
            ["os"] = os,
            ["kernel"] = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
            ["hypervisor"] = cpuinfo.Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Contains(" hypervisor", StringComparison.Ordinal)) ? "yes (virtual machine)" : "no",
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["simd"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512" : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "SSE",
            ["libswscale"] = Swscale.VersionString(),
            ["libjpeg_turbo"] = PackageVersion("libturbojpeg0"),
            ["ffmpeg"] = PackageVersion("ffmpeg"),
            ["load_at_start"] = File.ReadAllText("/proc/loadavg").Trim(),
            ["nice"] = File.ReadAllText("/proc/self/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[16],
        };
    }

    private static string PackageVersion(string package)
    {
        try
        {
            var info = new ProcessStartInfo("dpkg-query", ["-W", "-f=${Version}", package]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(info)!;
            var version = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? version : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}

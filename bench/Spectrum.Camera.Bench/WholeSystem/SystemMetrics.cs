using System.Globalization;
using Spectrum.Camera.Bench.Reporting;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>The summary lines of one whole-system scenario: total, service and per-sidecar CPU, and each guest's frame rate.</summary>
internal static class SystemMetrics
{
    public static void Add(List<Metric> metrics, WholeSystemCpu.Result result, string camera)
    {
        var scenario = result.Scenario;
        var key = $"system.{scenario.Key}";
        var window = $"over {result.WindowSeconds:F0} s";
        var parts = string.Join(", ", result.Consumers.Select(c => $"{c.Consumer.Vm} {F(c.Sidecar.Percent)}"));
        Console.WriteLine($"  {scenario.Key}: service {F(result.Service.Percent)} %, sidecars {parts}; total {F(result.TotalPercent)} % " +
            $"(schedstat {F(result.TotalSchedstatPercent)} %); fps {string.Join(", ", result.Consumers.Select(c => F(c.Fps, "F1")))}");
        var target = scenario.TargetTotalPercent is { } t ? "<= " + t.ToString(CultureInfo.InvariantCulture) : null;
        metrics.Add(new($"{key}.total_percent_of_core", result.TotalPercent, "%", target, null,
            $"{camera} -> {result.Consumers.Count} sidecars -> guests; camera service {F(result.Service.Percent)} + sidecars ({parts}), " +
            $"/proc/PID/stat utime+stime {window}"));
        metrics.Add(new($"{key}.total_percent_of_core_schedstat", result.TotalSchedstatPercent, "%", null, null,
            "the same window from /proc/PID/task/*/schedstat (ns resolution)"));
        metrics.Add(new($"{key}.service_percent_of_core", result.Service.Percent, "%", null, null,
            $"the camera service process (schedstat {F(result.Service.SchedstatPercent)}) {window}"));
        var fpsTarget = scenario.TargetFps is { } f ? ">= " + f.ToString(CultureInfo.InvariantCulture) : null;
        foreach (var c in result.Consumers)
        {
            metrics.Add(new($"{key}.{c.Consumer.Vm}.sidecar_percent_of_core", c.Sidecar.Percent, "%", null, null,
                $"its sidecar, guest {c.Consumer.Format} (schedstat {F(c.Sidecar.SchedstatPercent)}) {window}"));
            var numbers = c.Repeats is { } repeats ? $", {repeats} repeated and {c.Skipped} skipped camera frames (test-pattern numbers)" : "";
            metrics.Add(new($"{key}.{c.Consumer.Vm}.fps", c.Fps, "fps", fpsTarget, null,
                $"new camera frames the guest saw per second (not black, not a repeat); {F(c.DeliveredFps, "F1")} frames/s delivered, " +
                $"{c.BlackFrames} black{numbers} {window}"));
        }

        if (result.Consumers.Count > 2)
        {
            metrics.Add(new($"{key}.min_fps", result.Consumers.Min(c => c.Fps), "fps", fpsTarget, null,
                $"the lowest of the {result.Consumers.Count} guests' new-frame rates"));
        }
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}

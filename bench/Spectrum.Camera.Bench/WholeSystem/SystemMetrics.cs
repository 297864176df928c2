using System.Globalization;
using Spectrum.Camera.Bench.Reporting;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// The summary lines of one whole-system scenario: total, service and per-sidecar CPU, and each guest's frame rate;
/// with a camera VM, also its producer sidecar's CPU, the rate it wrote at and what each end dropped.
/// </summary>
internal static class SystemMetrics
{
    public static void Add(List<Metric> metrics, WholeSystemCpu.Result result, string camera)
    {
        var scenario = result.Scenario;
        var key = $"system.{scenario.Key}";
        var window = $"over {result.WindowSeconds:F0} s";
        var producer = result.Producer;
        var parts = string.Join(", ", result.Consumers.Select(c => $"{c.Consumer.Vm} {F(c.Sidecar.Percent)}"));
        if (producer is not null)
        {
            parts = $"producer {F(producer.Sidecar.Percent)}, " + parts;
        }

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
        if (producer is not null)
        {
            AddProducer(metrics, key, producer, window);
        }

        var fpsTarget = scenario.TargetFps is { } f ? ">= " + f.ToString(CultureInfo.InvariantCulture) : null;
        foreach (var c in result.Consumers)
        {
            metrics.Add(new($"{key}.{c.Consumer.Vm}.sidecar_percent_of_core", c.Sidecar.Percent, "%", null, null,
                $"its sidecar, guest {c.Consumer.Format} (schedstat {F(c.Sidecar.SchedstatPercent)}) {window}"));
            var origin = producer is null ? "test-pattern numbers" : "the camera VM's frame numbers";
            var numbers = c.Repeats is { } repeats ? $", {repeats} repeated and {c.Skipped} skipped camera frames ({origin})" : "";
            metrics.Add(new($"{key}.{c.Consumer.Vm}.fps", c.Fps, "fps", fpsTarget, null,
                $"new camera frames the guest saw per second (not black, not a repeat); {F(c.DeliveredFps, "F1")} frames/s delivered, " +
                $"{c.BlackFrames} black{numbers} {window}"));
            if (c.Repeats is { } repeated && c.Skipped is { } skipped)
            {
                metrics.Add(new($"{key}.{c.Consumer.Vm}.repeated_frames", repeated, "frames", null, null,
                    $"frames whose number ({origin}) was the previous frame's: the sidecar showed its newest camera frame again {window}"));
                metrics.Add(new($"{key}.{c.Consumer.Vm}.skipped_frames", skipped, "frames", null, null,
                    $"camera frames the guest never got, from the jumps in the numbers ({origin}) {window}"));
            }
        }

        if (result.Consumers.Count > 2)
        {
            metrics.Add(new($"{key}.min_fps", result.Consumers.Min(c => c.Fps), "fps", fpsTarget, null,
                $"the lowest of the {result.Consumers.Count} guests' new-frame rates"));
        }
    }

    private static void AddProducer(List<Metric> metrics, string key, WholeSystemCpu.ProducerResult producer, string window)
    {
        var device = producer.Device;
        metrics.Add(new($"{key}.producer_sidecar_percent_of_core", producer.Sidecar.Percent, "%", null, null,
            $"the camera VM's sidecar (serve --role producer): output device, {producer.Mode} from guest pages into the service's ring " +
            $"(schedstat {F(producer.Sidecar.SchedstatPercent)}) {window}"));
        metrics.Add(new($"{key}.camera_vm_fps", producer.WrittenFps, "fps", null, null,
            $"frames the camera VM's application wrote into the output device per second ({producer.Mode}, as the service asked), " +
            $"paced by the device taking one buffer per frame period, {window}"));
        metrics.Add(new($"{key}.producer_device_dropped_frames", device.Dropped, "frames", null, null,
            $"the output device's frames not passed on (nobody wanted them, or the service's ring had not come yet) over the producer " +
            $"sidecar's whole run, start-up included; {device.Forwarded} forwarded ({device.Announced} announced to the service)"));
        metrics.Add(new($"{key}.producer_device_failed_frames", device.Failed, "frames", "<= 0", null,
            $"the output device's frames whose guest pages could not be read whole, over its whole run; " +
            $"{producer.ErrorReturns} buffers came back to the camera VM with V4L2_BUF_FLAG_ERROR"));
        metrics.Add(new($"{key}.service_dropped_camera_vm_frames", producer.ServiceDrops.Total, "frames", null, null,
            $"the camera VM's frames the service dropped {window}: {producer.ServiceDrops} (ctl cameras --json at both ends)"));
    }

    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}

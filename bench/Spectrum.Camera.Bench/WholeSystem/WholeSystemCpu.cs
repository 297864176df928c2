using System.Collections.Concurrent;
using System.Diagnostics;
using Spectrum.Camera.Bench.Cpu;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// Whole-system figures: a camera service process, one real <c>spectrum-camera serve</c> sidecar per VM connected
/// to it through the camera-service socket protocol, and per VM a test-frontend VMM and guest streaming at the
/// sidecar's own 30 fps pacing over vhost-user (<see cref="GuestCaptureStream"/>, looking at every frame). Over the
/// window: the CPU time of the service and of every sidecar from /proc (utime + stime, with schedstat as a
/// cross-check), and the frames each guest got, new camera frames apart from repeats and black. With a camera VM as
/// the camera, also its producer sidecar (<c>spectrum-camera serve --role producer</c>), whose output device a
/// <see cref="CameraVmApplication"/> in this process feeds at the rate the device takes frames.
/// </summary>
/// <remarks>
/// The guests, the VMMs and this process are not counted: they stand for QEMU and the VMs (the camera VM's
/// application included), which a real system pays for whatever camera it has. Every VM is allowed (<c>spectrum-camera ctl allow</c> on the operator socket) before
/// its sidecar starts, and the window opens only once every guest gets camera frames, plus a warm-up for the JIT.
/// </remarks>
public static class WholeSystemCpu
{
    /// <summary>A VM and the format its guest streams.</summary>
    public sealed record Consumer(string Vm, FrameFormat Format);

    /// <param name="Camera">The service's camera: <c>test-pattern</c> (the shipped service process),
    /// <see cref="MjpegCamera"/> (the service in a process of this suite, with the replay feed), or
    /// <see cref="CameraVmCamera"/> (the shipped service process with a camera VM and its producer sidecar).</param>
    /// <param name="TargetTotalPercent">The target for service + sidecars, or null.</param>
    /// <param name="TargetFps">The target for each guest's new frames per second, or null.</param>
    public sealed record Scenario(string Key, string Camera, IReadOnlyList<Consumer> Consumers, double? TargetTotalPercent, double? TargetFps);

    /// <param name="Fps">New (not black, not repeated) frames per second the guest saw.</param>
    /// <param name="DeliveredFps">Every EVT_DQBUF per second, repeats and black included.</param>
    /// <param name="Repeats">Frames whose test-pattern number was the previous frame's (cameras whose frames carry numbers).</param>
    /// <param name="Skipped">Camera frames the guest never got, from the jumps in the numbers (the same cameras).</param>
    public sealed record ConsumerResult(Consumer Consumer, ProcessCpu.Usage Sidecar, double Fps, double DeliveredFps, long BlackFrames,
        long? Repeats, long? Skipped);

    /// <summary>The camera VM's side of the producer path.</summary>
    /// <param name="Sidecar">The producer sidecar process over the window.</param>
    /// <param name="Mode">The mode the service asked the camera VM for, which its application streamed.</param>
    /// <param name="WrittenFps">Frames the camera VM's application wrote and queued per second over the window.</param>
    /// <param name="ErrorReturns">Buffers the output device gave back with V4L2_BUF_FLAG_ERROR, over the whole run.</param>
    /// <param name="Device">The output device's counters over the producer sidecar's whole life (its exit line).</param>
    /// <param name="ServiceDrops">The service's drops of the camera VM's frames over the window.</param>
    public sealed record ProducerResult(ProcessCpu.Usage Sidecar, FrameFormat Mode, double WrittenFps, long ErrorReturns,
        ProducerCounters.Device Device, ProducerCounters.ServiceDrops ServiceDrops);

    public sealed record Result(Scenario Scenario, double WindowSeconds, ProcessCpu.Usage Service, IReadOnlyList<ConsumerResult> Consumers,
        ProducerResult? Producer = null)
    {
        public double TotalPercent => Service.Percent + (Producer?.Sidecar.Percent ?? 0) + Consumers.Sum(c => c.Sidecar.Percent);

        public double TotalSchedstatPercent =>
            Service.SchedstatPercent + (Producer?.Sidecar.SchedstatPercent ?? 0) + Consumers.Sum(c => c.Sidecar.SchedstatPercent);
    }

    /// <summary>The camera value of the MJPEG scenario.</summary>
    public const string MjpegCamera = "mjpeg-replay";

    /// <summary>The camera value of the producer-path scenario: the service's camera is the camera VM <see cref="CameraVmName"/>.</summary>
    public const string CameraVmCamera = "camera-vm";

    /// <summary>The camera VM (a VM of the service, and the name of its camera).</summary>
    public const string CameraVmName = "cam-vm";

    /// <summary>The rate of every camera and guest here.</summary>
    public const uint Fps = 30;

    /// <summary>The JPEG frames the replay camera loops over (2 s at 30 fps).</summary>
    public const int ReplayFrames = 60;

    public static Scenario Mjpeg { get; } = new("mjpeg_1080p30_to_nv12_720p_and_yuyv_1080p", MjpegCamera,
        [new("vm-nv12-720p", new FrameFormat(PixelFormats.Nv12, 1280, 720)), new("vm-yuyv-1080p", new FrameFormat(PixelFormats.Yuyv, 1920, 1080))],
        TargetTotalPercent: 15, TargetFps: null);

    /// <summary>
    /// A camera VM → 2 consumers at 720p30: the first guest to stream (NV12) sets the mode the service asks the camera
    /// VM for, so one consumer takes the camera VM's format as it is and the other (YUYV) needs a conversion. Both are
    /// 1280x720 so that both guests can read the camera VM's frame numbers: a 4:3 guest would get a centre crop, which
    /// cuts the number band's outer blocks (the number's top and bottom bits) off. Target: at most 3 % of one core for
    /// the four processes (see docs/performance.md) and every guest ≥ 29.5 new frames a second.
    /// </summary>
    public static Scenario CameraVm { get; } = new("camera_vm_720p30_to_nv12_720p_and_yuyv_720p", CameraVmCamera,
        [new("vm-nv12-720p", new FrameFormat(PixelFormats.Nv12, 1280, 720)), new("vm-yuyv-720p", new FrameFormat(PixelFormats.Yuyv, 1280, 720))],
        TargetTotalPercent: 3, TargetFps: 29.5);

    public static Scenario EightVms(int vms) => new($"test_pattern_to_{vms}_vms_nv12_720p30", "test-pattern",
        [.. Enumerable.Range(0, vms).Select(i => new Consumer($"vm{i}", new FrameFormat(PixelFormats.Nv12, 1280, 720)))],
        TargetTotalPercent: null, TargetFps: 29.5);

    /// <param name="sidecarDll">spectrum-camera.dll: the sidecars, the test-pattern service and <c>ctl</c>.</param>
    /// <param name="jpegDirectory">The replay camera's frames (for <see cref="MjpegCamera"/>).</param>
    public static Result Measure(string sidecarDll, Scenario scenario, string jpegDirectory, TimeSpan warmup, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var directory = Directory.CreateTempSubdirectory("spectrum-bench-system-").FullName;
        var runtime = Path.Combine(directory, "run");
        var state = Directory.CreateDirectory(Path.Combine(directory, "state")).FullName;
        var operatorSocket = Path.Combine(runtime, "operator.sock");
        var cameraVm = scenario.Camera == CameraVmCamera;
        var vms = scenario.Consumers.Select(c => c.Vm).ToArray();
        string[] camera = cameraVm ? ["--camera", $"{CameraVmName}=vm:{CameraVmName}", "--vm", CameraVmName] : ["--camera", scenario.Camera];
        Process? service = null;
        Process? producer = null;
        var producerLog = new ConcurrentQueue<string>();
        CameraVmApplication? application = null;
        var sidecars = new List<Process>();
        var guests = new List<GuestCaptureStream>();
        try
        {
            service = scenario.Camera == MjpegCamera
                ? ProcessCpu.StartDotnet(typeof(WholeSystemCpu).Assembly.Location, "camera-service",
                    [ReplayCameraServiceHost.Option, runtime, state, jpegDirectory, .. vms])
                : ProcessCpu.StartDotnet(sidecarDll, "camera-service",
                    ["camera-service", .. camera, .. vms.SelectMany(vm => new[] { "--vm", vm }),
                        "--runtime-dir", runtime, "--state-dir", state, "--log-level", "warning"]);
            ProcessCpu.WaitForSocket(service, operatorSocket);
            if (cameraVm)
            {
                // Info, not warning: its exit line carries the output device's counters.
                var socket = Path.Combine(directory, CameraVmName + ".sock");
                producer = ProcessCpu.StartDotnet(sidecarDll, CameraVmName, producerLog, "serve", "--role", "producer", "--socket-path", socket,
                    "--vm", CameraVmName, "--camera-service", Path.Combine(runtime, "producers", CameraVmName + ".sock"), "--log-level", "info");
                ProcessCpu.WaitForSocket(producer, socket);
                application = new CameraVmApplication(socket, new FrameFormat(PixelFormats.Yuyv, 1920, 1080));
            }

            foreach (var consumer in scenario.Consumers)
            {
                Allow(sidecarDll, operatorSocket, consumer.Vm);
                var socket = Path.Combine(directory, consumer.Vm + ".sock");
                sidecars.Add(ProcessCpu.StartDotnet(sidecarDll, consumer.Vm, "serve", "--socket-path", socket, "--vm", consumer.Vm,
                    "--camera-service", Path.Combine(runtime, "vms", consumer.Vm + ".sock"), "--log-level", "warning"));
                ProcessCpu.WaitForSocket(sidecars[^1], socket);
                guests.Add(new GuestCaptureStream(socket, consumer.Format, streaming: true, inspect: true,
                    readsFrameNumbers: scenario.Camera != MjpegCamera));
            }

            WaitForCameraFrames(scenario, guests);
            Thread.Sleep(warmup);
            var dropsBefore = cameraVm ? ProducerCounters.FromService(sidecarDll, operatorSocket, CameraVmName) : null;
            var writtenBefore = application?.Written ?? 0;
            var producerBefore = producer is null ? null : ProcessCpu.Read(producer);
            var serviceBefore = ProcessCpu.Read(service);
            var sidecarsBefore = sidecars.Select(ProcessCpu.Read).ToArray();
            var newBefore = guests.Select(g => g.NewFrames).ToArray();
            var framesBefore = guests.Select(g => g.Frames).ToArray();
            var blackBefore = guests.Select(g => g.BlackFrames).ToArray();
            var repeatsBefore = guests.Select(g => g.RepeatedNumbers).ToArray();
            var skippedBefore = guests.Select(g => g.SkippedNumbers).ToArray();
            var clock = Stopwatch.StartNew();
            Thread.Sleep(window);
            var serviceAfter = ProcessCpu.Read(service);
            var producerAfter = producer is null ? null : ProcessCpu.Read(producer);
            var writtenAfter = application?.Written ?? 0;
            var sidecarsAfter = sidecars.Select(ProcessCpu.Read).ToArray();
            var newAfter = guests.Select(g => g.NewFrames).ToArray();
            var framesAfter = guests.Select(g => g.Frames).ToArray();
            var blackAfter = guests.Select(g => g.BlackFrames).ToArray();
            var repeatsAfter = guests.Select(g => g.RepeatedNumbers).ToArray();
            var skippedAfter = guests.Select(g => g.SkippedNumbers).ToArray();
            var seconds = clock.Elapsed.TotalSeconds;
            var dropsAfter = cameraVm ? ProducerCounters.FromService(sidecarDll, operatorSocket, CameraVmName) : null;

            // The camera VM stops writing before its consumers leave, so that no frame is dropped as unwanted.
            application?.Stop();
            guests.ForEach(g => g.Stop());
            ProducerResult? producerResult = null;
            if (application is not null && producer is not null)
            {
                var mode = application.Mode ?? throw new InvalidOperationException("the camera VM never streamed");
                var errors = application.ErrorReturns;
                application.Dispose();
                application = null;
                if (!producer.WaitForExit(TimeSpan.FromSeconds(30)))
                {
                    throw new InvalidOperationException("the producer sidecar did not exit when its VMM disconnected");
                }

                producer.WaitForExit(); // and its stderr is read to the end
                var device = ProducerCounters.FromExitLine(producerLog)
                    ?? throw new InvalidOperationException($"the producer sidecar (exit {producer.ExitCode}) logged no counters on exit");
                producerResult = new ProducerResult(ProcessCpu.Between(producerBefore!, producerAfter!, seconds), mode,
                    (writtenAfter - writtenBefore) / seconds, errors, device, dropsAfter!.Minus(dropsBefore!));
            }

            var consumers = scenario.Consumers.Select((c, i) => new ConsumerResult(c,
                ProcessCpu.Between(sidecarsBefore[i], sidecarsAfter[i], seconds),
                (newAfter[i] - newBefore[i]) / seconds,
                (framesAfter[i] - framesBefore[i]) / seconds,
                blackAfter[i] - blackBefore[i],
                scenario.Camera == MjpegCamera ? null : repeatsAfter[i] - repeatsBefore[i],
                scenario.Camera == MjpegCamera ? null : skippedAfter[i] - skippedBefore[i])).ToArray();
            return new Result(scenario, seconds, ProcessCpu.Between(serviceBefore, serviceAfter, seconds), consumers, producerResult);
        }
        finally
        {
            application?.Dispose();
            guests.ForEach(g => g.Dispose());
            sidecars.ForEach(ProcessCpu.Reap);
            if (producer is not null)
            {
                ProcessCpu.Reap(producer);
            }

            if (service is not null)
            {
                if (!service.HasExited)
                {
                    Native.BenchNative.Terminate(service.Id);
                }

                ProcessCpu.Reap(service);
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary><c>spectrum-camera ctl allow VM</c>, which returns once the permission is effective.</summary>
    private static void Allow(string sidecarDll, string operatorSocket, string vm)
    {
        using var ctl = ProcessCpu.StartDotnet(sidecarDll, "ctl", "ctl", "--operator-socket", operatorSocket, "allow", vm);
        if (!ctl.WaitForExit(TimeSpan.FromSeconds(60)) || ctl.ExitCode != 0)
        {
            throw new InvalidOperationException($"spectrum-camera ctl allow {vm} failed (exit {(ctl.HasExited ? ctl.ExitCode : -1)})");
        }
    }

    /// <summary>Waits (up to 60 s: the camera opens, sidecars connect) until every guest has had a new camera frame.</summary>
    private static void WaitForCameraFrames(Scenario scenario, List<GuestCaptureStream> guests)
    {
        var clock = Stopwatch.StartNew();
        while (guests.Any(g => g.NewFrames == 0))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                var waiting = scenario.Consumers.Where((_, i) => guests[i].NewFrames == 0).Select(c => c.Vm);
                throw new InvalidOperationException($"{scenario.Key}: no camera frame reached {string.Join(", ", waiting)} in 60 s");
            }

            Thread.Sleep(100);
        }
    }
}

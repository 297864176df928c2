using System.Runtime.InteropServices;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Service;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// The camera service as its own process with an <see cref="MjpegReplayCameraFeed"/> as its one camera: the same
/// <see cref="CameraService"/> that <c>spectrum-camera camera-service</c> runs (sockets, policy, operator API, hubs,
/// rings), started by the suite as <c>spectrum-camera-bench --mjpeg-camera-service RUNTIME STATE JPEG-DIR VM...</c>
/// so that its CPU time is a real process's, read from /proc like the sidecars'. Stops on SIGTERM.
/// </summary>
internal static class ReplayCameraServiceHost
{
    public const string Option = "--mjpeg-camera-service";

    /// <summary>The camera's mode: what a 1080p webcam sends.</summary>
    public const int Width = 1920;

    public const int Height = 1080;

    public static int Run(string[] args)
    {
        var at = Array.IndexOf(args, Option);
        if (at < 0 || args.Length < at + 5)
        {
            Console.Error.WriteLine($"usage: spectrum-camera-bench {Option} RUNTIME-DIR STATE-DIR JPEG-DIR VM...");
            return 2;
        }

        var (runtime, state, jpegDirectory) = (args[at + 1], args[at + 2], args[at + 3]);
        var vms = args[(at + 4)..].Select(vm => VmConfig.Parse(vm, PosixFiles.EffectiveUid)).ToArray();
        var jpegs = Directory.GetFiles(jpegDirectory, "*.jpg").Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        Log.MinimumLevel = LogLevel.Warning;
        Log.Scope = "camera-service";
        var options = new CameraServiceOptions(runtime, state, [new CameraConfig("mjpeg", "mjpeg-replay")], vms, [], null);
        using var service = new CameraService(options, (loop, _) => new MjpegReplayCameraFeed(loop, jpegs, Width, Height));
        service.Start();
        using var stop = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            service.RequestStop();
        });
        service.Run();
        return 0;
    }
}
